"""The options of one colorization as the page and the API speak them, checked before any work.

Vibrancy is what a person sets: 0 (muted) .. 50 (the release's look) .. 100 (vivid). Inside, it is
the network's annealing temperature (``Colorizer.colorize(temperature=...)``), which runs the other
way: 1.0 is the plain mean of the predicted colours (muted), 0.38 the release, 0.05 nearly the mode
(vivid). Each half of the vibrancy scale is log-linear in the temperature:

    vibrancy   0     10    25    50    75    90    100
    temp.      1.00  0.82  0.62  0.38  0.14  0.075 0.05

Version 1 of the API took the temperature itself in the same place (0.05 vivid .. 1.0 muted, default
0.38). A value above 0 and at most 1 is still read that way (``temperature_for_request``), so old
calls give the same result; on the new scale such values would mean "almost fully muted", which
vibrancy 0 and 1 already give.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from colorizer.colorizer import MIN_RENDER_SIZE, check_render_size, check_temperature
from colorizer.errors import ColorizerError
from colorizer.upsample import DEFAULT_METHOD, METHODS
from colorkit.contract import DEFAULT_TEMPERATURE, PRECISIONS

VIBRANCY_MIN, VIBRANCY_DEFAULT, VIBRANCY_MAX = 0.0, 50.0, 100.0
MUTED_TEMPERATURE = 1.0  # vibrancy 0: the plain annealed mean
VIVID_TEMPERATURE = 0.05  # vibrancy 100: the most vivid the page offered before
LEGACY_TEMPERATURE_MAX = 1.0  # 0 < value <= this: a version-1 temperature


def temperature_for_vibrancy(vibrancy: float) -> float:
    """Vibrancy 0..100 -> annealing temperature 1.0..0.05; 50 gives exactly DEFAULT_TEMPERATURE.

    Raises ColorizerError outside 0..100 (NaN included)."""
    if not VIBRANCY_MIN <= vibrancy <= VIBRANCY_MAX:
        raise ColorizerError(f"vibrancy {vibrancy} must be from {VIBRANCY_MIN:g} to {VIBRANCY_MAX:g}")
    half = VIBRANCY_DEFAULT
    if vibrancy == VIBRANCY_MAX:
        return VIVID_TEMPERATURE  # exact, not 0.04999...
    if vibrancy <= half:  # log-linear from MUTED (0) to the default (50)
        return MUTED_TEMPERATURE * (DEFAULT_TEMPERATURE / MUTED_TEMPERATURE) ** (vibrancy / half)
    return DEFAULT_TEMPERATURE * (VIVID_TEMPERATURE / DEFAULT_TEMPERATURE) ** ((vibrancy - half) / half)


def vibrancy_for_temperature(temperature: float) -> float:
    """The inverse of temperature_for_vibrancy, for temperatures 0.05..1.0."""
    if not VIVID_TEMPERATURE - 1e-9 <= temperature <= MUTED_TEMPERATURE:
        raise ColorizerError(
            f"temperature {temperature} has no vibrancy; it must be from {VIVID_TEMPERATURE} to {MUTED_TEMPERATURE}"
        )
    if temperature >= DEFAULT_TEMPERATURE:
        return 0.0 + VIBRANCY_DEFAULT * math.log(temperature / MUTED_TEMPERATURE) / math.log(
            DEFAULT_TEMPERATURE / MUTED_TEMPERATURE
        )
    return VIBRANCY_DEFAULT * (
        1 + math.log(temperature / DEFAULT_TEMPERATURE) / math.log(VIVID_TEMPERATURE / DEFAULT_TEMPERATURE)
    )


def temperature_for_request(value: float) -> float:
    """What the page's and the API's vibrancy value asks for, as a temperature: a value above 0 and
    at most 1 is a version-1 temperature (used as given, checked by ``check_temperature``); 0 and
    values above 1 are vibrancy (0..100)."""
    if 0 < value <= LEGACY_TEMPERATURE_MAX:
        return check_temperature(value)
    return temperature_for_vibrancy(value)


@dataclass(frozen=True)
class ColorizeOptions:
    """One request's settings, already checked; ``Colorizer.colorize`` takes them as keywords."""

    temperature: float = DEFAULT_TEMPERATURE
    render_size: int = MIN_RENDER_SIZE
    upsample: str = DEFAULT_METHOD
    keep_color: bool = False
    precision: str = "fp32"

    @classmethod
    def from_request(
        cls,
        vibrancy: object = VIBRANCY_DEFAULT,
        render_size: object = MIN_RENDER_SIZE,
        upsample: object = DEFAULT_METHOD,
        keep_color: object = False,
        precision: object = "fp32",
    ) -> ColorizeOptions:
        """Values as a web form or JSON sends them (None: the default) -> options; ColorizerError
        naming the first bad one. Strings are not numbers here, and only true/false/0/1 are booleans."""
        vibrancy = VIBRANCY_DEFAULT if vibrancy is None else _number("vibrancy", vibrancy)
        size = MIN_RENDER_SIZE if render_size is None else _number("render size", render_size)
        if not float(size).is_integer():
            raise ColorizerError(f"render size {size} must be a whole number")
        upsample = DEFAULT_METHOD if upsample is None else upsample
        if upsample not in METHODS:
            raise ColorizerError(f"unknown colour upsampling {upsample!r}; choose one of {', '.join(METHODS)}")
        precision = "fp32" if precision is None else precision
        if precision not in PRECISIONS:
            raise ColorizerError(f"unknown precision {precision!r}; choose {' or '.join(PRECISIONS)}")
        if keep_color not in (None, True, False, 0, 1):  # 0 == False and 1 == True in Python
            raise ColorizerError(f"keep colour must be true or false, not {keep_color!r}")
        return cls(
            temperature=temperature_for_request(vibrancy),
            render_size=check_render_size(int(size)),
            upsample=str(upsample),
            keep_color=bool(keep_color),
            precision=str(precision),
        )

    def colorize_keywords(self) -> dict[str, object]:
        """The keywords of ``Colorizer.colorize`` these options stand for."""
        return {
            "temperature": self.temperature,
            "render_size": self.render_size,
            "upsample": self.upsample,
            "keep_color": self.keep_color,
        }

    def describe(self) -> dict[str, object]:
        """The settings as recorded in a result's provenance (plain JSON types)."""
        return {
            "temperature": round(self.temperature, 4),
            "render_size": self.render_size,
            "upsample": self.upsample,
            "keep_color": self.keep_color,
            "precision": self.precision,
        }


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ColorizerError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ColorizerError(f"{name} must be a finite number, not {value}")
    return float(value)
