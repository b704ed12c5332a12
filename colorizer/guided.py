"""Running the user-guided model: one onnxruntime session, a lightness plane and hints in, ab out.

The pieces ``Colorizer`` needs for ``colorize(image, hints=[...])``; names and constants come from
the model's own metadata (``colorkit.contract.ModelContract``), not from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from colorizer.errors import ColorizerError, HintError, ModelError
from colorizer.hints import Hint, guided_feed
from colorkit.contract import KIND_GUIDED, ContractError, ModelContract

HINTS_NEED_GUIDED = (
    "colour hints need the user-guided model (guided.onnx, written by: python -m convert --guided); "
    "this model is ECCV16, which colorizes automatically only"
)


def session_contract(session) -> ModelContract:
    """The contract an onnxruntime session's model declares in its metadata; ModelError if none."""
    try:
        return ModelContract.from_metadata(session.get_modelmeta().custom_metadata_map)
    except ContractError as error:
        raise ModelError(str(error)) from None


def check_hints_supported(contract: ModelContract, hints: Sequence[Hint]) -> None:
    """HintError (naming the user-guided model) if there are hints and the model is not that model."""
    if hints and contract.kind != KIND_GUIDED:
        raise HintError(HINTS_NEED_GUIDED)


def predict_guided(
    session,
    lightness: np.ndarray,
    hints: Sequence[Hint],
    width: int,
    height: int,
    contract: ModelContract | None = None,
) -> np.ndarray:
    """ab of the user-guided model for a ``width`` x ``height`` photo whose L, resized to the network
    input (float32 h x w, L in 0..100, h and w multiples of the contract's input_multiple, 256 x 256
    as trained), is ``lightness``: float32 2 x h x w (a, b in Lab units, at the input's own
    resolution). ``hints`` in the photo's pixel coordinates (``colorizer.hints.parse_hints``); none
    gives the network's automatic colorization. ``contract``: default, read from the session."""
    contract = contract or session_contract(session)
    if contract.kind != KIND_GUIDED or contract.hint_mask_value is None:
        raise ModelError("predict_guided needs the user-guided model; this one is " + contract.kind)
    rows, columns = lightness.shape
    if rows % contract.input_multiple or columns % contract.input_multiple:
        raise ColorizerError(
            f"the network input must be a multiple of {contract.input_multiple} on each side, got {columns}x{rows}"
        )
    feed = guided_feed(lightness, hints, width, height, l_offset=contract.l_offset, mask_value=contract.hint_mask_value)
    return session.run([contract.ab_output], {contract.l_input: feed})[0][0]  # 1x2xhxw -> 2xhxw
