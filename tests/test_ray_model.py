"""How a Ray actor finds the driver's model (``ray_job.local_model``): the file at the driver's path
when it is the same model, else a copy from the object store, checked and cached. No Ray needed."""

from __future__ import annotations

import hashlib

import pytest

from colorizer.errors import ColorizerError
from colorizer.ray_job import ModelShipment, local_model

MODEL = b"the driver's model" * 1000


def shipment(path) -> ModelShipment:
    return ModelShipment(str(path), hashlib.sha256(MODEL).hexdigest(), ref=[])


class Store:
    """Stands in for the object store: counts fetches."""

    def __init__(self, data: bytes = MODEL):
        self.data, self.fetches = data, 0

    def fetch(self) -> bytes:
        self.fetches += 1
        return self.data


def test_the_file_at_the_drivers_path_is_used_when_it_is_the_same_model(tmp_path):
    (tmp_path / "m.onnx").write_bytes(MODEL)
    store = Store()
    assert local_model(shipment(tmp_path / "m.onnx"), store.fetch, tmp_path / "cache") == tmp_path / "m.onnx"
    assert store.fetches == 0 and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("on_this_node", [None, b"another model at the same path", b""])
def test_otherwise_the_object_stores_copy_is_fetched_once_and_cached(tmp_path, on_this_node):
    if on_this_node is not None:
        (tmp_path / "m.onnx").write_bytes(on_this_node)
    store, cache = Store(), tmp_path / "cache"
    first = local_model(shipment(tmp_path / "m.onnx"), store.fetch, cache)
    assert first.parent == cache and first.read_bytes() == MODEL and store.fetches == 1
    again = local_model(shipment(tmp_path / "m.onnx"), store.fetch, cache)  # another actor on this node
    assert again == first and store.fetches == 1
    assert [path.name for path in cache.iterdir()] == [first.name]  # no temporary left


def test_bytes_that_are_not_the_drivers_model_are_refused(tmp_path):
    with pytest.raises(ColorizerError, match="does not have the SHA-256"):
        local_model(shipment(tmp_path / "missing.onnx"), Store(b"damaged in transit").fetch, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_cached_copy_that_went_bad_is_fetched_again(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{hashlib.sha256(MODEL).hexdigest()}.onnx").write_bytes(MODEL[:100])  # a disk's damage
    store = Store()
    assert local_model(shipment(tmp_path / "missing.onnx"), store.fetch, cache).read_bytes() == MODEL
    assert store.fetches == 1
