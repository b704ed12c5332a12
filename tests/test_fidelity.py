"""The whole converted net against an independent Caffe reader: OpenCV 4's readNetFromCaffe.

Synthetic random-weight caffemodels with the real architecture, in every blob encoding a real file
may use, with realistic BatchNorm factors; compared on the contract output class8_ab. The hull's
decoding is also checked without OpenCV 4, against the paper, in test_references.py.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from convert.eccv16 import convert_release
from testkit.fixtures import photo_like_lightness, write_caffemodel
from testkit.requirements import OPENCV4_CAFFE, requires

pytestmark = pytest.mark.slow  # the whole net against OpenCV 4: not in the quick subset

MEAN_TOLERANCE, MAX_TOLERANCE = 0.01, 0.5  # ab units


def l_input(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like L - 50 input, float32 (1, 1, H, W)."""
    return (photo_like_lightness(height, width, seed) - 50)[None, None]


def opencv_reference(prototxt, caffemodel, hull, data_l: np.ndarray, scale_from_filler: bool) -> np.ndarray:
    """class8_ab as the seed computed it: OpenCV's Caffe reader, hull and 2.606 set by hand."""
    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
    points = np.load(hull)  # (313, 2): row q is bin q's (a, b)
    weights = np.zeros((2, 313, 1, 1), np.float32)  # class8_ab, a 1x1 conv: output 0 = a, 1 = b; input q = bin q
    for q, (a, b) in enumerate(points):
        weights[0, q, 0, 0], weights[1, q, 0, 0] = a, b
    net.getLayer(net.getLayerId("class8_ab")).blobs = [weights]
    if scale_from_filler:  # the caffemodel has no conv8_313_rh blob: the seed's constant
        net.getLayer(net.getLayerId("conv8_313_rh")).blobs = [np.full((1, 313), 2.606, np.float32)]
    net.setInput(data_l)
    return net.forward("class8_ab")


ENCODINGS = {
    "shape-packed": dict(legacy_shapes=False, packed=True),
    "legacy-packed": dict(legacy_shapes=True, packed=True),
    "shape-unpacked": dict(legacy_shapes=False, packed=False),
    "legacy-unpacked-scaleblob": dict(legacy_shapes=True, packed=False, scale_value=2.2),
}


@requires(OPENCV4_CAFFE)  # skips on a user's machine without it; fails in CI
@pytest.mark.parametrize("encoding", ENCODINGS, ids=list(ENCODINGS))
def test_matches_opencv_caffe_reader(tmp_path, deploy_prototxt, hull_file, encoding):
    options = dict(ENCODINGS[encoding])
    caffemodel = write_caffemodel(tmp_path / "random.caffemodel", deploy_prototxt, seed=3, **options)
    model = convert_release(deploy_prototxt, caffemodel, hull_file)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for height, width in [(224, 224), (176, 312)]:
        data_l = l_input(height, width)
        ours = session.run(["class8_ab"], {"data_l": data_l})[0]
        reference = opencv_reference(
            deploy_prototxt, caffemodel, hull_file, data_l, scale_from_filler="scale_value" not in options
        )
        assert ours.shape == reference.shape == (1, 2, height // 4, width // 4)
        difference = np.abs(ours - reference)
        assert difference.mean() <= MEAN_TOLERANCE and difference.max() <= MAX_TOLERANCE, (
            f"{encoding} {height}x{width}: mean |d| {difference.mean():.5f}, max |d| {difference.max():.5f}"
        )
        assert reference.std() > 1.0, "the synthetic net should produce varied colour, not a constant"


def test_batch_norm_factor_matters(tmp_path, deploy_prototxt, hull_file):
    """Guard against a converter that ignores blobs[2]: the same statistics stored with factor
    999.98 (sums, as a trained model has) or 1 must give the same output."""
    data_l = l_input(224, 224)
    outputs = []
    for factor in (999.98, 1.0):
        caffemodel = write_caffemodel(tmp_path / f"f{factor}.caffemodel", deploy_prototxt, seed=3, bn_factor=factor)
        model = convert_release(deploy_prototxt, caffemodel, hull_file)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outputs.append(session.run(["class8_ab"], {"data_l": data_l})[0])
        caffemodel.unlink()
    np.testing.assert_allclose(
        outputs[0], outputs[1], atol=1e-3, err_msg="same statistics stored with different factors must agree"
    )
