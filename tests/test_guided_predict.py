"""predict_guided on a random-weight user-guided model of the real architecture: on a non-square photo
a hint changes the colour most near where it was put, and hints for ECCV16 are refused by name."""

from __future__ import annotations

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from colorizer.color import lightness
from colorizer.errors import ColorizerError, HintError, ModelError
from colorizer.guided import HINTS_NEED_GUIDED, check_hints_supported, predict_guided, session_contract
from colorizer.hints import Hint
from colorkit.contract import ModelContract
from convert.guided import convert_guided
from testkit.fixtures import GUIDED_PROTOTXT, photo, write_guided_caffemodel
from testkit.requirements import SHARED_GUIDED, requires

WIDTH, HEIGHT = 640, 480
GRID = 256


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    caffemodel = write_guided_caffemodel(
        tmp_path_factory.mktemp("guided") / "random.caffemodel", GUIDED_PROTOTXT, seed=3
    )
    model = convert_guided(GUIDED_PROTOTXT, caffemodel)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@requires(SHARED_GUIDED)
@pytest.mark.parametrize("x, y", [(480.0, 120.0), (100.0, 400.0)])
def test_a_hint_changes_the_colour_most_near_it(session, x, y):
    plane = cv2.resize(lightness(photo(WIDTH, HEIGHT)), (GRID, GRID), interpolation=cv2.INTER_LINEAR)  # cv2: (w, h)
    automatic = predict_guided(session, plane, [], WIDTH, HEIGHT)
    hinted = predict_guided(session, plane, [Hint(x, y, "#2f6fd6")], WIDTH, HEIGHT)
    assert automatic.shape == hinted.shape == (2, GRID, GRID) and hinted.dtype == np.float32
    change = np.abs(hinted - automatic).sum(axis=0)
    row, column = np.unravel_index(np.argmax(change), change.shape)
    peak_x, peak_y = (column + 0.5) * WIDTH / GRID, (row + 0.5) * HEIGHT / GRID  # back to photo pixels
    assert np.hypot(peak_x - x, peak_y - y) < 40, f"largest change at ({peak_x:.0f}, {peak_y:.0f}), hint at ({x}, {y})"
    rows, columns = np.mgrid[:GRID, :GRID]
    near = np.hypot((columns + 0.5) * WIDTH / GRID - x, (rows + 0.5) * HEIGHT / GRID - y) < 40
    assert change[near].mean() > 5 * change[~near].mean(), "the change must be concentrated around the hint"


@requires(SHARED_GUIDED)
def test_contract_read_from_the_session(session):
    assert session_contract(session) == ModelContract.guided()


def test_hints_for_eccv16_are_refused_naming_the_guided_model():
    with pytest.raises(HintError, match="user-guided model") as raised:
        check_hints_supported(ModelContract(), [Hint(1, 1, "#000000")])
    assert str(raised.value) == HINTS_NEED_GUIDED and "python -m convert --guided" in HINTS_NEED_GUIDED
    check_hints_supported(ModelContract(), [])  # no hints: ECCV16 is fine
    check_hints_supported(ModelContract.guided(), [Hint(1, 1, "#000000")])


def test_predict_guided_refuses_eccv16_and_bad_sizes():
    plane = np.zeros((GRID, GRID), np.float32)
    with pytest.raises(ModelError, match="user-guided"):
        predict_guided(None, plane, [], WIDTH, HEIGHT, contract=ModelContract())
    with pytest.raises(ColorizerError, match="multiple of 8"):
        predict_guided(None, np.zeros((250, 256), np.float32), [], WIDTH, HEIGHT, contract=ModelContract.guided())
