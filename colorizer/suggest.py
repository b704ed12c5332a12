"""Suggested colours at a point of a photo: the most likely colours there, from the user-guided
network's colour distribution (``guided-dist.onnx``, written by ``python -m convert --guided-dist``).

That model (the release's ``deploy_nopred.prototxt``) takes the same input as the user-guided one
(the photo's lightness and the hints) and gives, for every cell of its input grid, a probability
over the 313 in-gamut ab bins of ``pts_in_hull.npy``: a 23 x 23 grid of 10-unit ab cells from
-110 to 110, of which those 313 can occur. The bins' centres are read from the model itself
(``pred_ab``'s weights, which the converter sets to them).

The release's UI (``ui/gui_draw.py``, ``suggest_color``; ``data/colorize_image.py``,
``get_ab_reccs``) draws 25,000 samples from the distribution at the clicked cell, clusters them with
k-means (scikit-learn) into K colours ordered by how many samples each holds, and shows each at the
point's lightness. That is random (two clicks at one point can suggest different colours). Here the
same idea is deterministic, ``distribution_modes``: the distribution on its 23 x 23 grid smoothed
with a 3 x 3 binomial kernel ([1 2 1] / 4 each way), then its largest smoothed values taken one
after another, each taking its own cell and the 8 around it out of the running (so no two
suggestions are closer than 20 ab units): the distribution's modes, the most likely first. A
suggestion's ``share`` is the probability of its cell and of those neighbours no earlier suggestion
took (the shares sum to at most 1), as the release's cluster sizes are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from colorizer.colorizer import open_session
from colorizer.errors import ModelError
from colorizer.guided import session_contract
from colorizer.hints import Hint, guided_feed, hint_cell, parse_hints, snapped_rgb
from colorkit.cli import command_name
from colorkit.contract import KIND_GUIDED_DIST, default_guided_dist_model_path

if TYPE_CHECKING:
    import onnx  # imported where a model is read: importing it costs 0.45 s (ml_dtypes), every CLI start

SUGGESTIONS = 6  # colours suggested at a point (the release's UI shows 8 and the point's current one)
BIN_STEP = 10.0  # ab units between neighbouring bins
BIN_LOW, GRID_SIDE = -110.0, 23  # the ab grid: 23 x 23 cells from -110 to 110, a by rows, b by columns
SMOOTHING = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16  # the binomial 3 x 3 kernel (sums to 1)


@dataclass(frozen=True)
class Suggestions:
    """Colours suggested at one point, the most likely first: ``rgb`` uint8 k x 3 (sRGB at the
    point's lightness, in gamut), ``ab`` float32 k x 2 (the bins' centres, Lab units), ``share``
    float32 k (the probability each stands for), ``lightness`` the point's L (0..100) in the
    network's input, the one a hint there takes. k <= the number asked for (fewer only where the
    grid runs out of bins)."""

    rgb: np.ndarray
    ab: np.ndarray
    share: np.ndarray
    lightness: float

    def colours(self) -> list[str]:
        """The suggestions as ``#rrggbb``, as hints take them."""
        return ["#{:02x}{:02x}{:02x}".format(*row) for row in self.rgb.tolist()]


def distribution_modes(
    probabilities: np.ndarray, bins: np.ndarray, k: int = SUGGESTIONS
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` modes of one cell's colour distribution: ``probabilities`` float 313 (one per bin),
    ``bins`` float 313 x 2 (their (a, b) centres on the 10-unit grid) -> (ab float32 k x 2, share
    float32 k), the most likely first (see the module's docstring); fewer than ``k`` when fewer
    bins are left."""
    cells = np.rint((bins - BIN_LOW) / BIN_STEP).astype(np.intp)
    grid = np.zeros((GRID_SIDE, GRID_SIDE), np.float64)
    grid[cells[:, 0], cells[:, 1]] = probabilities
    smooth = cv2.filter2D(grid, -1, SMOOTHING, borderType=cv2.BORDER_CONSTANT)
    running = np.zeros_like(grid, dtype=bool)
    running[cells[:, 0], cells[:, 1]] = True
    picked: list[tuple[int, int]] = []
    shares: list[float] = []
    while len(picked) < k and running.any():
        row, column = np.unravel_index(np.argmax(np.where(running, smooth, -np.inf)), grid.shape)
        around = slice(max(row - 1, 0), row + 2), slice(max(column - 1, 0), column + 2)
        shares.append(grid[around][running[around]].sum())
        running[around] = False
        picked.append((int(row), int(column)))
    ab = BIN_LOW + BIN_STEP * np.array(picked, np.float32).reshape(-1, 2)
    return ab.astype(np.float32), np.array(shares, np.float32)


def bin_centres(model: onnx.ModelProto) -> np.ndarray:
    """The 313 ab bins' centres, float32 313 x 2, from a guided-dist model: the weights of the
    convolution that writes ``pred_ab`` (2 x 313 x 1 x 1, the converter's copy of the hull).
    ModelError when there is none, or its bins are not on the 10-unit grid from -110 to 110."""
    from onnx import numpy_helper

    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Conv" and "pred_ab" in node.output and node.input[1] in initializers:
            weights = numpy_helper.to_array(initializers[node.input[1]])
            centres = weights.reshape(weights.shape[0], -1).T.astype(np.float32)
            steps = (centres - BIN_LOW) / BIN_STEP
            if (
                centres.shape[1] == 2
                and np.allclose(steps, np.rint(steps), atol=1e-3)
                and (steps.min() >= 0)
                and (steps.max() < GRID_SIDE)
            ):
                return centres
            break
    raise ModelError("the colour distribution model has no bin centres on the 10-unit ab grid (pred_ab's weights)")


class ColourSuggester:
    """Suggested colours with the user-guided network's distribution version. Thread-safe: one
    onnxruntime session shared by all callers.

    model_path: ``guided-dist.onnx`` (default: beside the default user-guided model,
    ``colorkit.contract.default_guided_dist_model_path``). threads, providers, device: as for
    ``Colorizer`` (``open_session``). ModelError for a missing file or a model of another kind.
    """

    def __init__(
        self,
        model_path: Path | str | None = None,
        *,
        threads: int | None = None,
        providers: list[str] | None = None,
        device: str = "auto",
    ):
        self.model_path = Path(model_path) if model_path is not None else default_guided_dist_model_path()
        if not self.model_path.is_file():
            convert = command_name("convert")
            raise ModelError(f"no model at {self.model_path}; create it with: {convert} --guided-dist")
        self._session = open_session(self.model_path, providers=providers, device=device, threads=threads)
        self.contract = session_contract(self._session)
        if self.contract.kind != KIND_GUIDED_DIST or not self.contract.dist_output or not self.contract.hint_mask_value:
            raise ModelError(
                f"{self.model_path}: a {self.contract.kind} model, not the colour distribution (guided-dist)"
            )
        import onnx

        self.bins = bin_centres(onnx.load(str(self.model_path)))

    def distribution(self, small: np.ndarray, hints: Sequence[Hint], width: int, height: int) -> np.ndarray:
        """The colour distribution of every cell: float32 313 x h x w (each cell's sums to 1), for a
        ``width`` x ``height`` photo whose lightness resized to the network's input is ``small``
        (float32 h x w, L in 0..100) and checked ``hints`` (``hints.parse_hints``)."""
        mask_value = self.contract.hint_mask_value
        assert mask_value is not None  # checked when loaded
        feed = guided_feed(small, hints, width, height, l_offset=self.contract.l_offset, mask_value=mask_value)
        return self._session.run([self.contract.dist_output], {self.contract.l_input: feed})[0][0]

    def suggest(
        self, plane: np.ndarray, x: float, y: float, hints: str | Sequence = (), k: int = SUGGESTIONS
    ) -> Suggestions:
        """The ``k`` most likely colours at photo point (x, y) (pixel coordinates, x right, y down),
        given the photo's other ``hints`` (as ``Colorizer.colorize`` takes them; leave out the
        point's own). ``plane``: the photo's float32 H x W lightness (L in 0..100,
        ``colorizer.color.lightness``). HintError for bad hints or a point outside the photo."""
        height, width = plane.shape
        checked = parse_hints(hints or [], width, height)
        [point] = parse_hints([{"x": x, "y": y, "color": "#000000"}], width, height)
        size = self.contract.input_size
        small = cv2.resize(plane, (size, size), interpolation=cv2.INTER_LINEAR)  # as Colorizer feeds it
        distribution = self.distribution(small, checked, width, height)
        row, column = hint_cell(point, width, height, distribution.shape[1:])
        ab, share = distribution_modes(distribution[:, row, column], self.bins, k)
        lightness = float(small[hint_cell(point, width, height, small.shape)])
        rgb = np.array([snapped_rgb(lightness, a, b) for a, b in ab.tolist()], np.uint8).reshape(-1, 3)
        return Suggestions(rgb, ab, share, lightness)
