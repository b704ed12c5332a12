"""Benchmark: flicker, colour accuracy and speed of video colorization: per-frame, stabilized with
the network on every frame, on every 2nd, and on adaptive keyframes (network_every="auto").

Run by hand:  python -m bench.flicker_bench [--size 640x360] [--frames 16] [--tune] [--tune-keyframes]

Clips (testkit/video_clips.Shot, shots_frames), each turned grey with its photos' own Lab lightness,
so the true colour of every frame is known:
- "slow": a virtual camera pans or zooms slowly over each colour photo of ../shared/fixtures/photos
  (one motion per photo, MOTIONS), on four of them with an object crossing the frame on its own
  (occluding and uncovering the background);
- "hard" (HARD): a fast pan, a large object crossing fast over a zoom, and a film of three shots cut
  to one another (one with an object crossing).
Without ../shared, random-texture "photos" stand in (the accuracy figures then mean little).

Networks: the random-weight model of the real architecture (bench.colorize_bench.model_path: the
real release cannot be downloaded here; --model takes a real one), fp32 and int8, called through
colorizer.video.FrameColorizer.network_ab exactly as colorize_video calls it; and an "oracle": the
true colour averaged to the network's 56x56 grid, brought up by the same upsampler, i.e. a perfect
but low-resolution network, which shows what carrying the colour costs when the network is right.
With the random-weight networks, ab RMSE against the truth measures consistency with what the
network says (its colours are arbitrary), not accuracy; the oracle's is the accuracy.

Measures, per clip, then averaged over clips:
- warping error (Lai et al. 2018) on ab, colorizer.video.flicker: the input's flow at full size (DIS
  medium), occlusion-masked mean squared ab difference between frames t and t+1 warped back; pairs
  across a cut are left out. The ground truth's own warping error is the floor resampling alone gives.
- ab RMSE vs ground truth: sqrt(mean(da^2 + db^2)) over every pixel of every frame.
- network share: frames the network ran on / frames.
- scene cuts: the L-histogram distance (colorizer.video.stabilize.histogram_distance) between the
  consecutive frames of every slow clip, and between the last frame of each and the first of every
  other (a cut); the threshold is put midway between the largest within-shot and smallest cut distance.
- speed: colorize_video end to end (decode, network, upsampling, stabilization, H.264 encode) on an
  H.264 clip of --speed-frames frames at --size (all the clips' frames, one after another, so with
  their cuts), fp32 and int8, each mode side by side in one run (other processes load this machine:
  ratios are more telling than absolutes); and the floor: the same with a network that costs nothing.

--tune: a sweep of the stabilizer's parameters, one at a time around the defaults, on the first
TUNING_CLIPS clips, reporting the held-out clips separately. Among the settings that at least halve
the warping error for every network it picks the lowest ab RMSE (the mean of the three networks'
ratios to per-frame): accuracy first, once the flicker goal is met. The defaults in
colorizer/video/stabilize.py came from it.
--tune-keyframes: a sweep of KeyframeSettings, one at a time around the defaults, on all clips: the
network share (the speed) against the warping error and ab RMSE, as ratios to the network on every
frame, stabilized. The defaults in colorizer/video/keyframes.py came from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.colorize_bench import model_path
from bench.common import SHARED_FIXTURES, WORK_DIR
from colorizer import Colorizer
from colorizer.color import lightness
from colorizer.pipeline import colorize_video
from colorizer.upsample import DEFAULT_METHOD, upsample_ab
from colorizer.video import FrameColorizer, StabilizerSettings, TemporalStabilizer
from colorizer.video.flicker import PairFlow, pair_flow, pair_warping_error
from colorizer.video.flow import FlowEstimator, flow_image, flow_size
from colorizer.video.keyframes import KeyframeSettings, KeyframeStabilizer
from colorizer.video.stabilize import histogram_distance
from testkit.video_clips import Shot, grey, lab, shots_frames, write_clip

# one per photo: (pan x, pan y) output pixels per frame at 640 wide, zoom per frame, and an object
# (a cut-out of the next photo, a third of the frame high) crossing at (vx, vy) px per frame
MOTIONS: list[dict] = [
    dict(pan=(2.0, 0.0)),
    dict(zoom=1.008, object=(8.0, 0.0)),
    dict(pan=(1.5, 1.0), object=(-6.0, 2.0)),
    dict(zoom=0.992),
    dict(pan=(-1.0, 0.5), zoom=1.004, object=(7.0, -1.0)),
    dict(pan=(0.0, -1.5), object=(-8.0, 0.0)),
]
# fast motion, a large object crossing fast, cuts: (name, shots, each Shot's arguments but frames;
# the clip's frames are shared out among its shots)
HARD: list[tuple[str, list[dict]]] = [
    ("fast pan +12,+4", [dict(photo=0, pan=(12.0, 4.0))]),
    ("zoom 1.01, object +24,+2 half high", [dict(photo=2, zoom=1.01, object=(24.0, 2.0), object_size=0.5)]),
    (
        "3 shots: pan +3,+0 | object -10,+0 | pan +0,-3",
        [dict(photo=3, pan=(3.0, 0.0)), dict(photo=4, zoom=1.005, object=(-10.0, 0.0)), dict(photo=5, pan=(0.0, -3.0))],
    ),
]
TUNING_CLIPS = 3
ORACLE_GRID = 56
TUNE_GRID = {  # one parameter at a time around the defaults
    "blend": (0.5, 0.6, 0.7, 0.8, 0.85, 0.9),
    "lightness_tolerance": (3.0, 6.0, 12.0, 25.0, 100.0),
    "flow_max_side": (128, 256, 640),
    "flow_preset": ("ultrafast", "fast", "medium"),
}
KEYFRAME_GRID = {  # one parameter at a time around the defaults
    "max_interval": (4, 8, 12, 16),
    "max_stale": (0.05, 0.1, 0.2, 1.0),
    "bidirectional": (False, True),
    "key_shot_ends": (False, True),
    "blend_per_frame": (False, True),
}
MODES: list[int | str] = [1, 2, "auto"]  # network_every, stabilized


@dataclasses.dataclass
class Clip:
    name: str
    planes: list[np.ndarray]  # float32 HxW L of the grey input frames
    truth: list[np.ndarray]  # float32 HxWx2 ab of the colour frames
    motion: list[PairFlow | None]  # the input's flow between consecutive frames (None across a cut)
    grey_frames: list[np.ndarray]  # uint8 HxWx3
    cuts: list[int]  # the first frame of each shot after the first


def photos() -> list[np.ndarray]:
    paths = sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))
    if paths:
        return [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in paths]  # OpenCV reads BGR
    rng = np.random.default_rng(0)
    return [
        cv2.resize(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (640, 480), interpolation=cv2.INTER_CUBIC)
        for _ in MOTIONS
    ]  # cv2: (w, h)


def clip_specs(count: int, hard: bool) -> list[tuple[str, list[Shot]]]:
    """(name, shots) of the slow clips (MOTIONS) or the hard ones (HARD), ``count`` frames each."""
    if not hard:
        return [
            (f"{index}:{_describe(motion)}", [Shot(index, count, **motion)]) for index, motion in enumerate(MOTIONS)
        ]
    specs = []
    for name, shots in HARD:
        lengths = [count // len(shots)] * len(shots)
        lengths[-1] += count - sum(lengths)
        specs.append((name, [Shot(frames=length, **shot) for shot, length in zip(shots, lengths)]))
    return specs


def make_clips(width: int, height: int, count: int, hard: bool = False) -> list[Clip]:
    clips = []
    estimator = FlowEstimator("medium")
    pictures = photos()
    for name, shots in clip_specs(count, hard):
        colour, cuts = shots_frames(pictures, shots, width, height)
        greys = [grey(frame) for frame in colour]
        planes = [lightness(frame) for frame in greys]
        truth = [lab(frame)[..., 1:] for frame in colour]
        flows = [
            None if index + 1 in cuts else pair_flow(first, second, estimator)
            for index, (first, second) in enumerate(zip(planes, planes[1:]))
        ]
        clips.append(Clip(name, planes, truth, flows, greys, cuts))
    return clips


def _describe(motion: dict) -> str:
    parts = []
    if "pan" in motion:
        parts.append("pan {:+g},{:+g}".format(*motion["pan"]))
    if "zoom" in motion:
        parts.append(f"zoom {motion['zoom']:g}")
    if "object" in motion:
        parts.append("object {:+g},{:+g}".format(*motion["object"]))
    return " ".join(parts)


def network_abs(clips: list[Clip], model: Path, key: str) -> list[list[np.ndarray]]:
    """The network's upsampled ab for every frame (cached in bench/out by model and clip set)."""
    digest = hashlib.sha256(f"{model.stat().st_size}:{model.stat().st_mtime_ns}:{key}".encode()).hexdigest()[:16]
    cache = WORK_DIR / f"flicker_ab_{digest}.npz"
    if cache.exists():
        stored = np.load(cache)
        return [[stored[f"{c}_{t}"] for t in range(len(clip.planes))] for c, clip in enumerate(clips)]
    frames = FrameColorizer(Colorizer(model, providers=["CPUExecutionProvider"]))
    result = [[frames.network_ab(plane) for plane in clip.planes] for clip in clips]
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{f"{c}_{t}": ab for c, abs_ in enumerate(result) for t, ab in enumerate(abs_)})  # type: ignore[arg-type]
    return result


def oracle_abs(clips: list[Clip]) -> list[list[np.ndarray]]:
    """A perfect network at the network's resolution: true ab averaged to 56x56, upsampled."""
    return [
        [
            upsample_ab(
                cv2.resize(ab, (ORACLE_GRID, ORACLE_GRID), interpolation=cv2.INTER_AREA).transpose(2, 0, 1),
                plane,
                DEFAULT_METHOD,
            )  # cv2: (w, h); HxWx2 -> 2xhxw, the network's layout
            for plane, ab in zip(clip.planes, clip.truth)
        ]
        for clip in clips
    ]


class Replay:
    """The network's colours, computed once, given back as if it ran (and counted): the colour of
    the frame whose plane (the very array, from ``planes``) it is shown."""

    def __init__(self, planes: list[np.ndarray], abs_: list[np.ndarray]):
        self.index = {id(plane): index for index, plane in enumerate(planes)}
        self.abs_, self.calls = abs_, 0

    def __call__(self, plane: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.abs_[self.index[id(plane)]]


def stabilized(
    clip: Clip,
    abs_: list[np.ndarray],
    settings: StabilizerSettings,
    every: int | str = 1,
    keyframes: KeyframeSettings | None = None,
) -> tuple[list[np.ndarray], int]:
    """(the stabilized ab of every frame, frames the network ran on) over a clip's network colours,
    as FrameColorizer does with ``network_every``: "auto" through the same KeyframeStabilizer; an int
    n, the network's colour on one frame in n, carried forward between."""
    stabilizer = TemporalStabilizer(settings)
    if every == "auto":
        network = Replay(clip.planes, abs_)
        engine = KeyframeStabilizer(stabilizer, network, keyframes or KeyframeSettings())
        out: list[np.ndarray] = []
        for plane in clip.planes:
            out.extend(ab for _, ab, _ in engine.push(plane))
        out.extend(ab for _, ab, _ in engine.flush())
        return out, network.calls
    assert isinstance(every, int)
    out, calls, skipped = [], 0, 0
    for plane, ab in zip(clip.planes, abs_):
        carried = stabilizer.carry(plane) if skipped + 1 < every else None
        skipped += carried is not None
        if carried is None:
            carried, calls, skipped = stabilizer.update(plane, ab), calls + 1, 0
        out.append(carried)
    return out, calls


def scores(clips: list[Clip], outputs: list[list[np.ndarray]]) -> tuple[float, float]:
    """(mean warping error, pooled ab RMSE) over the clips."""
    warping, squared, pixels = [], 0.0, 0
    for clip, abs_ in zip(clips, outputs):
        pairs = [
            pair_warping_error(a, b, motion) for a, b, motion in zip(abs_, abs_[1:], clip.motion) if motion is not None
        ]
        warping.append(np.nanmean(pairs))
        for ab, truth in zip(abs_, clip.truth):
            squared += float(((ab - truth) ** 2).sum())
            pixels += truth.shape[0] * truth.shape[1]
    return float(np.mean(warping)), float(np.sqrt(squared / pixels))


def cut_threshold(clips: list[Clip], max_side: int) -> tuple[float, float, float]:
    """(largest within-shot distance, smallest cut distance, the midpoint)."""
    small = [
        [flow_image(plane, flow_size(plane.shape[0], plane.shape[1], max_side)) for plane in clip.planes]
        for clip in clips
    ]
    within = [histogram_distance(a, b) for frames in small for a, b in zip(frames, frames[1:])]
    cuts = [
        histogram_distance(first[-1], second[0])
        for i, first in enumerate(small)
        for j, second in enumerate(small)
        if i != j
    ]
    return max(within), min(cuts), (max(within) + min(cuts)) / 2


def quality_table(
    clips: list[Clip],
    networks: dict[str, list[list[np.ndarray]]],
    settings: StabilizerSettings,
    label: str,
    modes: list[int | str] = MODES,
) -> None:
    floor, _ = scores(clips, [clip.truth for clip in clips])
    frames = sum(len(clip.planes) for clip in clips)
    print(
        f"\n{label}: {', '.join(clip.name for clip in clips)}; {frames} frames at {clips[0].planes[0].shape[1]}x"
        f"{clips[0].planes[0].shape[0]}; ground truth's own warping error (the floor): {floor:.2f}"
    )
    print(
        "| network | network_every | network on | warping error | / per-frame | / every frame "
        "| ab RMSE | / per-frame | / every frame |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, abs_ in networks.items():
        plain_warp, plain_rmse = scores(clips, abs_)
        print(f"| {name} | per-frame | 100 % | {plain_warp:.2f} | 1 | | {plain_rmse:.2f} | 1 | |")
        every_warp = every_rmse = 0.0
        for every in modes:
            runs = [stabilized(clip, a, settings, every) for clip, a in zip(clips, abs_)]
            warp_, rmse = scores(clips, [out for out, _ in runs])
            if every == 1:
                every_warp, every_rmse = warp_, rmse
            share = sum(calls for _, calls in runs) / frames
            print(
                f"| {name} | {every} | {share:.0%} | {warp_:.2f} | {warp_ / plain_warp:.2f}x | "
                f"{warp_ / every_warp:.2f}x | {rmse:.2f} | {rmse / plain_rmse:.3f}x | {rmse / every_rmse:.3f}x |"
            )


def tune(clips: list[Clip], networks: dict[str, list[list[np.ndarray]]]) -> StabilizerSettings:
    tuning, held_out = clips[:TUNING_CLIPS], clips[TUNING_CLIPS:]
    base = StabilizerSettings()
    plain = {name: scores(tuning, abs_[:TUNING_CLIPS]) for name, abs_ in networks.items()}
    print(
        f"\ntuning on clips {', '.join(clip.name for clip in tuning)}; per-frame: "
        + ", ".join(f"{name} warping {w:.2f} RMSE {r:.2f}" for name, (w, r) in plain.items())
    )
    columns = " | ".join(f"{name} warping ratio | {name} RMSE ratio" for name in networks)
    print(f"| parameter | value | {columns} |")
    print("| --- | --- | " + " | ".join("--- | ---" for _ in networks) + " |")
    candidates = []
    for parameter, values in TUNE_GRID.items():
        for value in values:
            settings = dataclasses.replace(base, **{parameter: value})  # type: ignore[arg-type]
            ratios = {}
            for name, abs_ in networks.items():
                warp_, rmse = scores(tuning, [stabilized(c, a, settings)[0] for c, a in zip(tuning, abs_)])
                ratios[name] = (warp_ / plain[name][0], rmse / plain[name][1])
            print(f"| {parameter} | {value} | " + " | ".join(f"{w:.2f} | {r:.3f}" for w, r in ratios.values()) + " |")
            if all(w <= 0.5 for w, _ in ratios.values()):
                candidates.append((float(np.mean([r for _, r in ratios.values()])), parameter, value, settings))
    best = min(candidates, key=lambda item: item[0]) if candidates else (None, None, None, base)
    print(f"lowest mean ab RMSE ratio with every warping ratio <= 0.5: {best[1]} = {best[2]}")
    if held_out:
        quality_table(
            held_out,
            {name: abs_[TUNING_CLIPS:] for name, abs_ in networks.items()},
            best[3],
            "held-out clips, with that setting",
            modes=[1, 2],
        )
    return best[3]


def tune_keyframes(
    clips: list[Clip], networks: dict[str, list[list[np.ndarray]]], settings: StabilizerSettings
) -> None:
    """KeyframeSettings one at a time around the defaults: network share, and warping error and ab
    RMSE as ratios to the network on every frame (stabilized), for each network."""
    frames = sum(len(clip.planes) for clip in clips)
    every = {
        name: scores(clips, [stabilized(c, a, settings)[0] for c, a in zip(clips, abs_)])
        for name, abs_ in networks.items()
    }
    print(f"\nkeyframes, on {len(clips)} clips ({frames} frames); ratios to the network on every frame, stabilized")
    columns = " | ".join(f"{name} warping | {name} RMSE" for name in networks)
    print(f"| parameter | value | network on | {columns} |")
    print("| --- | --- | --- | " + " | ".join("--- | ---" for _ in networks) + " |")
    for parameter, values in KEYFRAME_GRID.items():
        for value in values:
            keyframes = dataclasses.replace(KeyframeSettings(), **{parameter: value})  # type: ignore[arg-type]
            cells, share = [], 0.0
            for name, abs_ in networks.items():
                runs = [stabilized(c, a, settings, "auto", keyframes) for c, a in zip(clips, abs_)]
                warp_, rmse = scores(clips, [out for out, _ in runs])
                share = sum(calls for _, calls in runs) / frames
                cells.append(f"{warp_ / every[name][0]:.2f} | {rmse / every[name][1]:.3f}")
            print(f"| {parameter} | {value} | {share:.0%} | " + " | ".join(cells) + " |")


class FreeNetwork:
    """A stand-in for the Colorizer whose network costs nothing (constant colour at the network's
    56x56 grid): colorize_video with it runs everything else, so its speed is the floor."""

    def predict_ab(self, plane: np.ndarray, *, temperature=None, render_size=None) -> np.ndarray:
        return np.full((2, ORACLE_GRID, ORACLE_GRID), 10.0, np.float32)


SPEED_ARMS: list[tuple[bool, int | str]] = [(False, 1), (True, 1), (True, 2), (True, "auto")]  # stabilize, every


def speed(clips: list[Clip], models: dict[str, Path], frames: int, repeats: int) -> None:
    """colorize_video's frames/s, each arm run ``repeats`` times, in turn (forward, then backward
    order, so a change of load falls on every arm), the fastest run of each reported."""
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as folder:
        film = [frame for clip in clips for frame in clip.grey_frames][:frames]
        source = write_clip(Path(folder) / "speed.mp4", film, audio="aac")
        height, width = clips[0].planes[0].shape
        print(
            f"\nspeed: colorize_video end to end, {len(film)} frames of {width}x{height} H.264 with AAC audio "
            f"(the clips above one after another), frames/s, the best of {repeats} runs of each, in turn"
        )
        print(
            "| network | per-frame | network_every=1 | network_every=2 | auto | auto / every=1 "
            "| auto: network on | network alone, calls/s | load average |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        plane = clips[0].planes[0]
        arms: dict[str, object] = {"free (the floor)": FreeNetwork()}
        arms.update({name: Colorizer(path, providers=["CPUExecutionProvider"]) for name, path in models.items()})
        for name, colorizer in arms.items():
            colorizer.predict_ab(plane)  # type: ignore[attr-defined]  # warm-up
            calls = []
            for _ in range(3):
                started = time.perf_counter()
                colorizer.predict_ab(plane)  # type: ignore[attr-defined]
                calls.append(time.perf_counter() - started)
            best = [float("inf")] * len(SPEED_ARMS)
            auto = None
            for run in range(repeats):
                order = list(range(len(SPEED_ARMS)))
                for arm in order if run % 2 == 0 else order[::-1]:
                    stabilize, every = SPEED_ARMS[arm]
                    result = colorize_video(
                        colorizer, source, Path(folder) / "out.mp4", stabilize=stabilize, network_every=every
                    )
                    best[arm] = min(best[arm], result.elapsed)
                    auto = result if every == "auto" else auto
            assert auto is not None
            rates = [len(film) / seconds for seconds in best]
            print(
                f"| {name} | {' | '.join(f'{rate:.2f}' for rate in rates)} | {rates[3] / rates[1]:.2f}x | "
                f"{auto.network_frames}/{auto.frames} {dict(auto.keyframes)} | {1 / min(calls):.1f} | "
                f"{os.getloadavg()[0]:.1f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x360", help="clip size WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=16, help="frames per quality clip")
    parser.add_argument("--speed-frames", type=int, default=144, help="frames of the speed clip (0: skip)")
    parser.add_argument("--model", type=Path, help="an fp32 model (default: the random-weight bench model)")
    parser.add_argument("--int8-model", type=Path, help="an int8 model (default: quantized from the bench model)")
    parser.add_argument("--tune", action="store_true", help="sweep the stabilizer's parameters")
    parser.add_argument("--tune-keyframes", action="store_true", help="sweep the keyframe settings")
    parser.add_argument("--speed-repeats", type=int, default=2, help="runs of each speed arm, in turn")
    parser.add_argument("--speed-only", action="store_true", help="the speed table alone")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    models = {"fp32": args.model or model_path("fp32"), "int8": args.int8_model or model_path("int8")}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
        f"models: {', '.join(f'{k} {v.name}' for k, v in models.items())}"
    )
    sets = {"slow": make_clips(width, height, args.frames), "hard": make_clips(width, height, args.frames, hard=True)}
    networks = {}
    for label, clips in sets.items():
        key = f"{width}x{height}x{args.frames}:{len(clips)}:{DEFAULT_METHOD}" + (":hard" if label == "hard" else "")
        networks[label] = {name: network_abs(clips, path, key) for name, path in models.items()}
        networks[label]["oracle"] = oracle_abs(clips)
    settings = StabilizerSettings()
    within, cuts, middle = cut_threshold(sets["slow"], settings.flow_max_side)
    print(
        f"scene cuts: L-histogram distance within shots at most {within:.3f}, across cuts at least {cuts:.3f}; "
        f"midpoint {middle:.3f} (setting: {settings.cut_threshold})"
    )
    if args.tune:
        settings = tune(sets["slow"], networks["slow"])
    print(f"\nstabilizer: {settings}\nkeyframes: {KeyframeSettings()}")
    if args.tune_keyframes:
        tune_keyframes(
            sets["slow"] + sets["hard"],
            {name: networks["slow"][name] + networks["hard"][name] for name in networks["slow"]},
            settings,
        )
    for label, clips in sets.items():
        if not args.speed_only:
            quality_table(clips, networks[label], settings, f"{label} clips")
    if args.speed_frames:
        speed(sets["slow"] + sets["hard"], models, args.speed_frames, args.speed_repeats)


if __name__ == "__main__":
    main()
