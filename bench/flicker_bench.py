"""Benchmark: flicker, colour accuracy and speed of video colorization, per-frame vs stabilized.

Run by hand:  python -m bench.flicker_bench [--size 640x360] [--frames 16] [--tune] [--model PATH]

Clips: a virtual camera pans or zooms slowly over each colour photo of ../shared/fixtures/photos
(testkit/video_clips.camera_frames; one motion per photo, MOTIONS), on four of them with an object
crossing the frame on its own (occluding and uncovering the background), turned grey with the
photo's own Lab lightness, so the true colour of every frame is known. Without ../shared, random-texture
"photos" stand in (the accuracy figures then mean little).

Networks: the random-weight model of the real architecture (bench.colorize_bench.model_path: the
real release cannot be downloaded here; --model takes a real one), fp32 and int8, called through
colorizer.video.FrameColorizer exactly as colorize_video calls it; and an "oracle": the true colour
averaged to the network's 56x56 grid, brought up by the same upsampler, i.e. a perfect but
low-resolution network, which shows what stabilization costs when the network is right.

Measures, per clip, then averaged over clips:
- warping error (Lai et al. 2018) on ab, colorizer.video.flicker: the input's flow at full size (DIS
  medium), occlusion-masked mean squared ab difference between frames t and t+1 warped back;
  the ground truth's own warping error is the floor that resampling alone gives.
- ab RMSE vs ground truth: sqrt(mean(da^2 + db^2)) over every pixel of every frame.
- scene cuts: the L-histogram distance (colorizer.video.stabilize.histogram_distance) between the
  consecutive frames of every clip, and between the last frame of each clip and the first of every
  other (a cut); the threshold is put midway between the largest within-shot and smallest cut distance.
- network every 2nd frame (colorize_video's network_every=2): the stabilized rows again with the
  network run on even frames only and the colour carried along the flow to the odd ones.
- speed: colorize_video end to end (decode, network, upsampling, stabilization, H.264 encode) on an
  H.264 clip of --speed-frames frames at --size, fp32 and int8, per-frame and stabilized, side by
  side in one run (other processes load this machine: ratios are more telling than absolutes).

--tune: a sweep of the stabilizer's parameters, one at a time around the defaults, on the first
TUNING_CLIPS clips, reporting the held-out clips separately. Among the settings that at least halve
the warping error for every network it picks the lowest ab RMSE (the mean of the three networks'
ratios to per-frame): accuracy first, once the flicker goal is met. The defaults in
colorizer/video/stabilize.py came from it.
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
from typing import Any

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
from colorizer.video.stabilize import histogram_distance
from testkit.video_clips import camera_frames, grey, lab, with_object, write_clip

MOTIONS: list[
    dict[str, Any]
] = [  # one per photo: (pan x, pan y) output pixels per frame at 640 wide, zoom per frame, and an
    # object (a cut-out of the next photo, a third of the frame high) crossing at (vx, vy) px per frame
    dict(pan=(2.0, 0.0)),
    dict(zoom=1.008, object=(8.0, 0.0)),
    dict(pan=(1.5, 1.0), object=(-6.0, 2.0)),
    dict(zoom=0.992),
    dict(pan=(-1.0, 0.5), zoom=1.004, object=(7.0, -1.0)),
    dict(pan=(0.0, -1.5), object=(-8.0, 0.0)),
]
TUNING_CLIPS = 3
ORACLE_GRID = 56
TUNE_GRID = {  # one parameter at a time around the defaults
    "blend": (0.5, 0.6, 0.7, 0.8, 0.85, 0.9),
    "lightness_tolerance": (3.0, 6.0, 12.0, 25.0, 100.0),
    "flow_max_side": (128, 256, 640),
    "flow_preset": ("ultrafast", "fast", "medium"),
}


@dataclasses.dataclass
class Clip:
    name: str
    planes: list[np.ndarray]  # float32 HxW L of the grey input frames
    truth: list[np.ndarray]  # float32 HxWx2 ab of the colour frames
    motion: list[PairFlow]  # the input's flow between consecutive frames (for the warping error)
    grey_frames: list[np.ndarray]  # uint8 HxWx3


def photos() -> list[np.ndarray]:
    paths = sorted((SHARED_FIXTURES / "photos").glob("*.jpg"))
    if paths:
        return [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in paths]  # OpenCV reads BGR
    rng = np.random.default_rng(0)
    return [
        cv2.resize(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (640, 480), interpolation=cv2.INTER_CUBIC)
        for _ in MOTIONS
    ]  # cv2: (w, h)


def make_clips(width: int, height: int, count: int) -> list[Clip]:
    clips = []
    scale = width / 640  # motions are given at 640 wide
    estimator = FlowEstimator("medium")
    pictures = photos()
    for index, (photo, motion) in enumerate(zip(pictures, MOTIONS)):
        pan = tuple(value * scale for value in motion.get("pan", (0.0, 0.0)))
        colour = list(camera_frames(photo, width, height, count, pan=pan, zoom=motion.get("zoom", 1.0)))
        if "object" in motion:
            velocity = tuple(value * scale for value in motion["object"])
            side = height // 3
            patch = next(camera_frames(pictures[(index + 1) % len(pictures)], side, side, 1))
            start = (width / 2 - side / 2 - velocity[0] * count / 2, height / 2 - side / 2 - velocity[1] * count / 2)
            colour = list(with_object(colour, patch, start, velocity))
        greys = [grey(frame) for frame in colour]
        planes = [lightness(frame) for frame in greys]
        truth = [lab(frame)[..., 1:] for frame in colour]
        flows = [pair_flow(first, second, estimator) for first, second in zip(planes, planes[1:])]
        clips.append(Clip(f"{index}:{_describe(motion)}", planes, truth, flows, greys))
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


def stabilized(clip: Clip, abs_: list[np.ndarray], settings: StabilizerSettings, every: int = 1) -> list[np.ndarray]:
    """The stabilizer over a clip's network colours; with ``every`` > 1, as FrameColorizer does
    with network_every: the network's colour on one frame in ``every``, carried between."""
    stabilizer = TemporalStabilizer(settings)
    out = []
    for index, (plane, ab) in enumerate(zip(clip.planes, abs_)):
        carried = stabilizer.carry(plane) if index % every else None
        out.append(carried if carried is not None else stabilizer.update(plane, ab))
    return out


def scores(clips: list[Clip], outputs: list[list[np.ndarray]]) -> tuple[float, float]:
    """(mean warping error, pooled ab RMSE) over the clips."""
    warping, squared, pixels = [], 0.0, 0
    for clip, abs_ in zip(clips, outputs):
        pairs = [pair_warping_error(a, b, motion) for a, b, motion in zip(abs_, abs_[1:], clip.motion)]
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
    clips: list[Clip], networks: dict[str, list[list[np.ndarray]]], settings: StabilizerSettings, label: str
) -> None:
    floor, _ = scores(clips, [clip.truth for clip in clips])
    print(
        f"\n{label}: {len(clips)} clips x {len(clips[0].planes)} frames at {clips[0].planes[0].shape[1]}x"
        f"{clips[0].planes[0].shape[0]}; ground truth's own warping error (the floor): {floor:.2f}"
    )
    print("| network | warping error per-frame | stabilized | ratio | ab RMSE per-frame | stabilized | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, abs_ in networks.items():
        plain_warp, plain_rmse = scores(clips, abs_)
        for every in (1, 2) if name != "oracle" else (1,):
            outputs = [stabilized(clip, a, settings, every) for clip, a in zip(clips, abs_)]
            stable_warp, stable_rmse = scores(clips, outputs)
            label = name if every == 1 else f"{name}, network every {every}nd frame"
            print(
                f"| {label} | {plain_warp:.2f} | {stable_warp:.2f} | {stable_warp / plain_warp:.2f}x | "
                f"{plain_rmse:.2f} | {stable_rmse:.2f} | {stable_rmse / plain_rmse:.3f}x |"
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
                warp_, rmse = scores(tuning, [stabilized(c, a, settings) for c, a in zip(tuning, abs_)])
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
        )
    return best[3]


def speed(clips: list[Clip], models: dict[str, Path], frames: int) -> None:
    clip = clips[0]
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as folder:
        source = write_clip(Path(folder) / "speed.mp4", (clip.grey_frames * frames)[:frames], audio="aac")
        height, width = clip.planes[0].shape
        print(f"\nspeed: colorize_video end to end, {frames} frames of {width}x{height} H.264 with AAC audio")
        print("| precision | per-frame frames/s | stabilized | stabilized, network every 2nd frame | network alone |")
        print("| --- | --- | --- | --- | --- |")
        for precision, path in models.items():
            colorizer = Colorizer(path, providers=["CPUExecutionProvider"])
            plane = clip.planes[0]
            colorizer.predict_ab(plane)  # warm-up
            started = time.perf_counter()
            for _ in range(3):
                colorizer.predict_ab(plane)
            network = 3 / (time.perf_counter() - started)
            rates = []
            for stabilize, every in ((False, 1), (True, 1), (True, 2)):
                result = colorize_video(
                    colorizer, source, Path(folder) / "out.mp4", stabilize=stabilize, network_every=every
                )
                rates.append(result.frames_per_second)
            print(f"| {precision} | {rates[0]:.2f} | {rates[1]:.2f} | {rates[2]:.2f} | {network:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="640x360", help="clip size WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=16, help="frames per quality clip")
    parser.add_argument("--speed-frames", type=int, default=16, help="frames of the speed clip (0: skip)")
    parser.add_argument("--model", type=Path, help="an fp32 model (default: the random-weight bench model)")
    parser.add_argument("--int8-model", type=Path, help="an int8 model (default: quantized from the bench model)")
    parser.add_argument("--tune", action="store_true", help="sweep the stabilizer's parameters")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    models = {"fp32": args.model or model_path("fp32"), "int8": args.int8_model or model_path("int8")}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
        f"models: {', '.join(f'{k} {v.name}' for k, v in models.items())}"
    )
    clips = make_clips(width, height, args.frames)
    key = f"{width}x{height}x{args.frames}:{len(clips)}:{DEFAULT_METHOD}"
    networks = {name: network_abs(clips, path, key) for name, path in models.items()}
    networks["oracle"] = oracle_abs(clips)
    settings = StabilizerSettings()
    within, cuts, middle = cut_threshold(clips, settings.flow_max_side)
    print(
        f"scene cuts: L-histogram distance within shots at most {within:.3f}, across cuts at least {cuts:.3f}; "
        f"midpoint {middle:.3f} (setting: {settings.cut_threshold})"
    )
    if args.tune:
        settings = tune(clips, networks)
    print(f"\nstabilizer: {settings}")
    quality_table(clips, networks, settings, "all clips")
    if args.speed_frames:
        speed(clips, models, args.speed_frames)


if __name__ == "__main__":
    main()
