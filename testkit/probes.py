"""Looking inside the pipeline without changing it: what the colorizer feeds its session, and the
network's class logits beside its ab output."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from colorkit.cli import ORT_LOG_SEVERITY

LOGITS_LAYER = "conv8_313"  # the release's 313 class scores, before the temperature Scale


class RecordingSession:
    """Wraps an onnxruntime session: runs it unchanged, keeping a copy of every feed dict."""

    def __init__(self, session):
        self._session = session
        self.feeds: list[dict[str, np.ndarray]] = []

    def run(self, output_names, input_feed, *args, **kwargs):
        self.feeds.append({name: np.array(value, copy=True) for name, value in input_feed.items()})
        return self._session.run(output_names, input_feed, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)


@contextlib.contextmanager
def recorded_feeds(colorizer) -> Iterator[list[dict[str, np.ndarray]]]:
    """Within the block, every feed ``colorizer`` gives its session is appended to the yielded list."""
    recorder = RecordingSession(colorizer._session)
    colorizer._session = recorder
    try:
        yield recorder.feeds
    finally:
        colorizer._session = recorder._session


def session_with_logits(model_path: Path, layer: str = LOGITS_LAYER) -> tuple[ort.InferenceSession, str]:
    """A CPU session of the model with ``layer``'s output added as a graph output; returns it and
    that output's name. The model's own outputs are unchanged."""
    model = onnx.load(str(model_path))
    nodes = [node for node in model.graph.node if node.name == layer]
    if len(nodes) != 1:
        raise LookupError(f"{model_path}: {len(nodes)} nodes named {layer!r}, expected 1")
    name = nodes[0].output[0]
    model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = ORT_LOG_SEVERITY
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]), name
