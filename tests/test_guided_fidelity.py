"""The converted user-guided net against an independent Caffe reader: OpenCV 4's readNetFromCaffe.

Random-weight caffemodels of the real architecture (junyanz/interactive-deep-colorization's
deploy_nodist.prototxt from ../shared), with realistic BatchNorm factors and an output spread over
about +-40 ab rather than saturated at +-100; compared on pred_ab, with and without hints, at the
trained 256x256 and at a non-square size, and blob by blob at every stage of the network.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

from colorkit.contract import ModelContract
from convert.guided import convert_guided, convert_guided_dist
from testkit.fixtures import (
    GUIDED_DIST_PROTOTXT,
    GUIDED_PROTOTXT,
    SHARED_FIXTURES,
    photo_like_lightness,
    write_guided_caffemodel,
    write_guided_release_caffemodel,
)
from testkit.requirements import OPENCV4_CAFFE, SHARED, SHARED_GUIDED, requires

pytestmark = [requires(OPENCV4_CAFFE, SHARED_GUIDED), pytest.mark.slow]  # OpenCV's net layer by layer: not quick

MEAN_TOLERANCE, MAX_TOLERANCE = 0.01, 0.1  # ab units, on pred_ab
# Blobs compared one by one: each stage's BatchNorm output (the ReLUs before them run in place), the
# fixed subsampling, the last convolution and the tanh. Tolerance relative to the blob's largest value.
STAGES = [
    "conv1_2norm",
    "conv1_2norm_ss",
    "conv2_2norm",
    "conv3_3norm",
    "conv4_3norm",
    "conv5_3norm",
    "conv6_3norm",
    "conv7_3norm",
    "conv8_3norm",
    "conv9_2norm",
    "conv10_ab",
    "pred_ab_1",
]
STAGE_RELATIVE_TOLERANCE = 1e-4
HINT_BOX = (slice(40, 45), slice(70, 75))  # rows, columns: a 5x5 hint, the repository's default size
HINT_AB = (40.0, -30.0)


def guided_input(height: int, width: int, hinted: bool, seed: int = 0) -> np.ndarray:
    """float32 (1, 4, H, W): a photo-like L - 50 (smooth structure plus fine noise), and either no
    hint or one 5x5 hint of ab (40, -30), mask 110 (the repository's Caffe normalisation)."""
    feed = np.zeros((1, 4, height, width), np.float32)
    feed[0, 0] = photo_like_lightness(height, width, seed) - 50
    if hinted:
        rows, columns = HINT_BOX
        feed[0, 1, rows, columns], feed[0, 2, rows, columns] = HINT_AB
        feed[0, 3, rows, columns] = 110.0
    return feed


def opencv_net(caffemodel):
    return cv2.dnn.readNetFromCaffe(str(GUIDED_PROTOTXT), str(caffemodel))


def opencv_forward(net, feed: np.ndarray, blobs: list[str]) -> dict[str, np.ndarray]:
    net.setInput(feed)
    return dict(zip(blobs, net.forward(blobs)))


def session_with_stages(model: onnx.ModelProto) -> ort.InferenceSession:
    """A copy of the model with each of STAGES also exposed as a graph output (Caffe's blob names are kept)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for name in STAGES:
        model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def random_release(tmp_path_factory):
    """(caffemodel with every blob, the ONNX model converted from it)."""
    caffemodel = write_guided_caffemodel(
        tmp_path_factory.mktemp("guided") / "random.caffemodel", GUIDED_PROTOTXT, seed=3
    )
    return caffemodel, convert_guided(GUIDED_PROTOTXT, caffemodel)


@pytest.mark.parametrize("height, width", [(256, 256), (176, 312)])
def test_pred_ab_and_every_stage_match_opencv(random_release, height, width):
    caffemodel, model = random_release
    session = session_with_stages(model)
    net = opencv_net(caffemodel)
    outputs = {}
    for hinted in (False, True):
        feed = guided_input(height, width, hinted)
        ours = dict(zip(["pred_ab", *STAGES], session.run(["pred_ab", *STAGES], {"data_l_ab_mask": feed})))
        reference = opencv_forward(net, feed, ["pred_ab", *STAGES])
        label = f"{height}x{width} {'with' if hinted else 'without'} a hint"
        assert ours["pred_ab"].shape == reference["pred_ab"].shape == (1, 2, height, width)
        difference = np.abs(ours["pred_ab"] - reference["pred_ab"])
        assert difference.mean() <= MEAN_TOLERANCE and difference.max() <= MAX_TOLERANCE, (
            f"{label}: pred_ab mean |d| {difference.mean():.5f}, max |d| {difference.max():.5f}"
        )
        for name in STAGES:
            scale = np.abs(reference[name]).max()
            np.testing.assert_allclose(
                ours[name], reference[name], rtol=0, atol=STAGE_RELATIVE_TOLERANCE * scale, err_msg=f"{label}: {name}"
            )
        assert reference["pred_ab"].std() > 10.0 and np.mean(np.abs(reference["pred_ab"]) > 99) < 0.05, (
            f"{label}: the synthetic net should give varied, unsaturated colour"
        )
        outputs[hinted] = reference["pred_ab"]
    change = np.abs(outputs[True] - outputs[False]).sum(axis=1)[0]
    rows, columns = HINT_BOX
    assert change[rows, columns].mean() > 10 * change.mean(), "the hint must change the colour, most where it is"


@pytest.mark.parametrize(
    "encoding",
    [dict(legacy_shapes=True, packed=False), dict(legacy_shapes=False, packed=True, bn_factor=1.0)],
    ids=["legacy-unpacked", "bn-factor-1"],
)
def test_fixed_layers_from_prototxt_fillers(tmp_path, encoding):
    """A caffemodel without the layers the prototxt fills itself (subsampling 1s, Scale 100) converts
    to the same net as OpenCV reading one that holds them."""
    full = write_guided_caffemodel(tmp_path / "full.caffemodel", GUIDED_PROTOTXT, seed=5, **encoding)
    bare = write_guided_caffemodel(tmp_path / "bare.caffemodel", GUIDED_PROTOTXT, seed=5, with_filled=False, **encoding)
    session = ort.InferenceSession(
        convert_guided(GUIDED_PROTOTXT, bare).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    feed = guided_input(256, 256, hinted=True, seed=1)
    ours = session.run(["pred_ab"], {"data_l_ab_mask": feed})[0]
    reference = opencv_forward(opencv_net(full), feed, ["pred_ab"])["pred_ab"]
    difference = np.abs(ours - reference)
    assert difference.mean() <= MEAN_TOLERANCE and difference.max() <= MAX_TOLERANCE, (
        f"mean |d| {difference.mean():.5f}, max |d| {difference.max():.5f}"
    )


def test_contract_of_the_converted_model(random_release):
    """Caffe's blob names, dynamic N, H and W, and the metadata the library reads."""
    caffemodel, model = random_release
    (data,) = model.graph.input
    (pred,) = model.graph.output[:1]
    assert data.name == "data_l_ab_mask" and pred.name == "pred_ab"
    dims = [d.dim_param or d.dim_value for d in data.type.tensor_type.shape.dim]
    assert dims == ["N", 4, "H", "W"]
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    assert metadata["model.kind"] == "guided"
    assert ModelContract.from_metadata(metadata) == ModelContract.guided()
    assert len(metadata["source.caffemodel.sha256"]) == 64


# One caffemodel for both prototxts, as the release's: deploy_nodist's layers, deploy_nopred's head,
# no layer named pred_ab. What the release's code sets after loading is set by hand on OpenCV's net.

UPSAMPLE_KERNEL = [[0.25, 0.5, 0.25, 0], [0.5, 1, 0.5, 0], [0.25, 0.5, 0.25, 0], [0, 0, 0, 0]]  # colorize_image.py


@pytest.fixture(scope="module")
def release_like(tmp_path_factory):
    return write_guided_release_caffemodel(tmp_path_factory.mktemp("release") / "model.caffemodel", seed=7)


def test_release_like_caffemodel_takes_pred_ab_scale_from_the_filler(release_like):
    session = ort.InferenceSession(
        convert_guided(GUIDED_PROTOTXT, release_like).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    net = opencv_net(release_like)
    net.getLayer(net.getLayerId("pred_ab")).blobs = [np.full((1, 2), 100.0, np.float32)]  # the prototxt's filler
    feed = guided_input(176, 312, hinted=True, seed=2)
    difference = np.abs(
        session.run(["pred_ab"], {"data_l_ab_mask": feed})[0] - opencv_forward(net, feed, ["pred_ab"])["pred_ab"]
    )
    assert difference.mean() <= MEAN_TOLERANCE and difference.max() <= MAX_TOLERANCE


@requires(OPENCV4_CAFFE, SHARED_GUIDED, SHARED)
def test_distribution_version_matches_opencv(release_like):
    hull = SHARED_FIXTURES / "pts_in_hull.npy"
    model = convert_guided_dist(GUIDED_DIST_PROTOTXT, release_like, hull)
    assert [output.name for output in model.graph.output] == ["dist_ab_S", "pred_ab"]
    assert ModelContract.from_metadata({p.key: p.value for p in model.metadata_props}) == ModelContract.guided_dist()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    net = cv2.dnn.readNetFromCaffe(str(GUIDED_DIST_PROTOTXT), str(release_like))
    kernel = np.broadcast_to(np.array(UPSAMPLE_KERNEL, np.float32), (313, 1, 4, 4)).copy()
    for name in ("pred_313_us", "pred_313_rs"):
        net.getLayer(net.getLayerId(name)).blobs = [kernel]
    net.getLayer(net.getLayerId("scale_S")).blobs = [np.full((1, 313), 0.2, np.float32)]  # prep_net's S
    net.getLayer(net.getLayerId("scale_T")).blobs = [np.full((1, 313), 2.6, np.float32)]  # its filler
    centres = np.load(hull).astype(np.float32).T.reshape(2, 313, 1, 1).copy()
    net.getLayer(net.getLayerId("pred_ab")).blobs = [centres, np.zeros((1, 2), np.float32)]
    for hinted in (False, True):
        feed = guided_input(256, 256, hinted, seed=3)
        dist, pred = session.run(["dist_ab_S", "pred_ab"], {"data_l_ab_mask": feed})
        reference = opencv_forward(net, feed, ["dist_ab_S", "pred_ab"])
        assert dist.shape == (1, 313, 256, 256)
        np.testing.assert_allclose(dist, reference["dist_ab_S"], rtol=0, atol=1e-5, err_msg="dist_ab_S")
        np.testing.assert_allclose(dist.sum(axis=1), 1.0, atol=1e-4, err_msg="a distribution per pixel")
        assert dist.max() < 0.5, "the synthetic distribution should be spread out, not one-hot"
        difference = np.abs(pred - reference["pred_ab"])
        assert difference.mean() <= MEAN_TOLERANCE and difference.max() <= MAX_TOLERANCE, (
            f"pred_ab mean |d| {difference.mean():.5f}, max |d| {difference.max():.5f}"
        )
