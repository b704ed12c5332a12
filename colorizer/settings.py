"""The settings of a colorization — colour, output and film — as one checked value, for every front end.

    settings = Settings(temperature=0.2, format="jpg").checked()     # the command line, the library
    settings = Settings.from_request(vibrancy=80, render_size=256)  # the page, the API, MCP (web values)
    settings.describe("photo", colorizer)                           # what a photo's provenance records

Every option is checked here once (``checked``, ``from_request``), and what an output records about
the settings that made it is decided here once (``describe``): the provenance written into each
output and the comparison ``--resume`` makes are the same dictionary.

Vibrancy is what a person sets on the page: 0 (muted) .. 50 (the release's look) .. 100 (vivid).
Inside, it is the network's annealing temperature, which runs the other way: 1.0 is the plain mean
of the predicted colours (muted), 0.38 the release, 0.05 nearly the mode (vivid). Each half of the
vibrancy scale is log-linear in the temperature:

    vibrancy   0     10    25    50    75    90    100
    temp.      1.00  0.82  0.62  0.38  0.14  0.075 0.05

Version 1 of the API took the temperature itself in the same place (0.05 vivid .. 1.0 muted). A
value above 0 and at most 1 is still read that way (``temperature_for_request``), so old calls give
the same result.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from colorizer.colorizer import MIN_RENDER_SIZE, check_precision, check_render_size, check_temperature
from colorizer.encode import DEFAULT_FORMAT, check_depth, check_format, check_quality
from colorizer.errors import ColorizerError
from colorizer.hints import Hint, hints_record, parse_hints
from colorizer.limits import DEFAULT_MAX_PIXELS
from colorizer.upsample import DEFAULT_METHOD, check_method
from colorkit.contract import DEFAULT_TEMPERATURE

VIBRANCY_MIN, VIBRANCY_DEFAULT, VIBRANCY_MAX = 0.0, 50.0, 100.0
MUTED_TEMPERATURE = 1.0  # vibrancy 0: the plain annealed mean
VIVID_TEMPERATURE = 0.05  # vibrancy 100: the most vivid the page offered before
LEGACY_TEMPERATURE_MAX = 1.0  # 0 < value <= this: a version-1 temperature
TEMPERATURE_DIGITS = 4  # a temperature is recorded rounded to this many decimals

PHOTO, FILM = "photo", "film"  # the two kinds of input, and of output
AUTO = "auto"  # network_every: on keyframes only, where the carried colour no longer holds (colorizer.video.keyframes)
# Settings that decide only one kind of output: each kind's record leaves the other kind's out, so a
# resumed run with another film setting does not redo the photos, nor another format the films.
FILM_ONLY = frozenset({"stabilize", "network_every"})
PHOTO_ONLY = frozenset({"keep_color", "format", "quality", "max_pixels", "depth", "strip_metadata"})
OUTPUT = ("format", "quality", "max_pixels")  # recorded only where the output format was chosen
# Recorded only at these values' others (what an output was made with before they existed).
UNLESS = {"depth": None, "strip_metadata": False}


@dataclass(frozen=True)
class Settings:
    """What an output is made with.

    temperature: annealing temperature 0.01..1.0; None: the model's own (0.38).
    render_size: the network's input side, a multiple of 8 from 224 to 512; None: the model's (224).
    upsample: how the colour reaches full resolution (``colorizer.upsample.METHODS``).
    keep_color: photos that already have colour keep it where it is strong.
    precision: "fp32", or "int8" for the quantized model.
    format, quality: a photo's output file ("png", "jpg", "webp", "tiff"; quality 1..100 or
        "lossless" for WebP). format None: PNG, not chosen by the user (the app), so not recorded either.
    depth: a photo's bits per sample, 8 or 16 (PNG and TIFF only); None: as the input
        (``encode.output_depth``: 16 for a 16-bit PNG or TIFF input written as PNG or TIFF, else 8).
    strip_metadata: write none of the input's EXIF, XMP and IPTC into a photo (only the provenance
        and the sRGB tag); False: carry them (``colorizer.metadata``).
    max_pixels: photos with more pixels are refused before decoding.
    stabilize: films: steady the colour along the motion (False: each frame alone).
    network_every: films: AUTO (the network on keyframes only) or N (on one frame in N; 1: every frame).
    hints: colour hints for the user-guided model (a list of {x, y, color[, size]}, or its JSON
        text), for every photo that has none of its own (``naming.hints_file``); checked against
        each photo's size when it is decoded (``colorizer.hints.parse_hints``).
    """

    temperature: float | None = None
    render_size: int | None = None
    upsample: str = DEFAULT_METHOD
    keep_color: bool = False
    precision: str = "fp32"
    format: str | None = None
    quality: int | str | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    depth: int | None = None
    strip_metadata: bool = False
    stabilize: bool = True
    network_every: int | str = AUTO
    hints: object = None

    def checked(self) -> Settings:
        """These settings with the format's name and quality resolved; ColorizerError naming the first
        bad one (so a front end refuses bad options before it loads a model)."""
        if self.temperature is not None:
            check_temperature(self.temperature)
        if self.render_size is not None:
            check_render_size(self.render_size)
        check_method(self.upsample)
        check_precision(self.precision)
        if self.max_pixels < 1:
            raise ColorizerError(f"max pixels must be positive, got {self.max_pixels}")
        check_network_every(self.network_every, stabilize=self.stabilize)
        if self.hints is not None:
            parse_hints(self.hints, math.inf, math.inf)  # their form: where they fall is each photo's
        if not isinstance(self.strip_metadata, bool):
            raise ColorizerError(f"strip_metadata must be true or false, not {self.strip_metadata!r}")
        if self.format is None:
            check_depth(DEFAULT_FORMAT, self.depth)
            return self
        format = check_format(self.format)
        return replace(
            self, format=format, quality=check_quality(format, self.quality), depth=check_depth(format, self.depth)
        )

    @classmethod
    def from_request(
        cls,
        vibrancy: object = VIBRANCY_DEFAULT,
        render_size: object = MIN_RENDER_SIZE,
        upsample: object = DEFAULT_METHOD,
        keep_color: object = False,
        precision: object = "fp32",
        stabilize: object = True,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        hints: object = None,
        network_every: object = AUTO,
    ) -> Settings:
        """Values as a web form or JSON sends them (None: the default) -> checked settings;
        ColorizerError naming the first bad one. Strings are not numbers here, and only
        true/false/0/1 are booleans."""
        vibrancy = VIBRANCY_DEFAULT if vibrancy is None else _number("vibrancy", vibrancy)
        size = MIN_RENDER_SIZE if render_size is None else _number("render size", render_size)
        if not float(size).is_integer():
            raise ColorizerError(f"render size {size} must be a whole number")
        return cls(
            temperature=temperature_for_request(vibrancy),
            render_size=int(size),
            upsample=DEFAULT_METHOD if upsample is None else upsample,  # type: ignore[arg-type]  # checked below
            keep_color=_boolean("keep colour", keep_color, False),
            precision="fp32" if precision is None else precision,  # type: ignore[arg-type]  # checked below
            stabilize=_boolean("stabilize", stabilize, True),
            max_pixels=max_pixels,
            hints=hints or None,
            network_every=AUTO if network_every in (None, "", AUTO) else _whole(network_every),  # type: ignore[arg-type]
        ).checked()

    def colorize_keywords(self) -> dict[str, object]:
        """The keywords of ``Colorizer.colorize`` these settings stand for."""
        return {
            "temperature": self.temperature,
            "render_size": self.render_size,
            "upsample": self.upsample,
            "keep_color": self.keep_color,
        }

    def describe(self, kind: str | None, colorizer, hints: Sequence[Hint] = ()) -> dict[str, object]:
        """What an output of ``kind`` (PHOTO, FILM; None: every setting, as a manifest row records
        them) made by ``colorizer`` records of these settings: the model's defaults filled in, the
        output format's settings where one was chosen, depth and strip_metadata where they are not
        their defaults (UNLESS: records made before they existed stay equal), the photo's own
        ``hints`` where it has some, plain JSON types. Equal settings give equal records: the provenance of every output and the
        comparison of ``--resume``."""
        values = asdict(self)
        del values["hints"]  # the run's; a photo records those it was colorized with
        if hints:
            values["hints"] = hints_record(hints)
        temperature = self.temperature if self.temperature is not None else colorizer.default_temperature
        values["temperature"] = round(temperature, TEMPERATURE_DIGITS)
        values["render_size"] = self.render_size or colorizer.input_size
        values["precision"] = colorizer.precision
        if self.format is None:
            values = _without(values, frozenset(OUTPUT))
        values = {name: value for name, value in values.items() if name not in UNLESS or value != UNLESS[name]}
        if kind == PHOTO:
            values = _without(values, FILM_ONLY)
        elif kind == FILM:
            values = _without(values, PHOTO_ONLY)
        return values


def check_network_every(network_every: object, *, stabilize: bool) -> None:
    """ColorizerError unless ``network_every`` is AUTO or a whole number of at least 1 (more than 1
    only with stabilization, which carries the colour between)."""
    if network_every == AUTO:
        return
    if isinstance(network_every, bool) or not isinstance(network_every, int) or network_every < 1:
        raise ColorizerError(f'network_every {network_every!r} must be "auto" or a whole number of at least 1')
    if network_every > 1 and not stabilize:
        raise ColorizerError(f"network_every {network_every} must be 1, or more with stabilization")


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


def temperature_for_request(value: float) -> float:
    """What the page's and the API's vibrancy value asks for, as a temperature: a value above 0 and
    at most 1 is a version-1 temperature (used as given, checked by ``check_temperature``); 0 and
    values above 1 are vibrancy (0..100)."""
    if 0 < value <= LEGACY_TEMPERATURE_MAX:
        return check_temperature(value)
    return temperature_for_vibrancy(value)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ColorizerError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ColorizerError(f"{name} must be a finite number, not {value}")
    return float(value)


def _whole(value: object) -> object:
    """A web form's whole number ("3", 3.0) as an int; anything else as it came, for the check to name."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() and not isinstance(value, bool) else value


def _boolean(name: str, value: object, default: bool) -> bool:
    if value is None:
        return default
    if value not in (True, False, 0, 1):  # 0 == False and 1 == True in Python
        raise ColorizerError(f"{name} must be true or false, not {value!r}")
    return bool(value)


def _without(values: dict, names: frozenset[str]) -> dict:
    return {name: value for name, value in values.items() if name not in names}
