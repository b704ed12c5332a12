"""Adaptive keyframes (network_every="auto", colorizer/video/keyframes.py), and network_every=1
giving exactly the per-frame stabilized pipeline.

Most tests give the KeyframeStabilizer a stand-in network (a known colour, no onnxruntime), so
they say which frames the network ran on and where every output's colour came from; two run the
random-weight model through colorize_video.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import cv2
import numpy as np
import pytest

from colorizer import Colorizer
from colorizer.color import lab_to_rgb8, lightness
from colorizer.errors import ColorizerError
from colorizer.pipeline import colorize_video
from colorizer.video import FrameColorizer, StabilizerSettings, TemporalStabilizer
from colorizer.video.colorize import frame_pixels
from colorizer.video.flow import FlowEstimator, consistent, flow_image, flow_size, resize_flow, warp
from colorizer.video.keyframes import KeyframeSettings, KeyframeStabilizer
from colorizer.video.stabilize import histogram_distance
from testkit.video_clips import write_clip

HEIGHT, WIDTH = 96, 160


def texture(seed: int, height: int = HEIGHT, width: int = WIDTH, low: float = 10, high: float = 90) -> np.ndarray:
    """float32 HxW L (low..high): smooth random texture the flow can follow."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((height, width), np.float32), (0, 0), 2.5)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (low + (high - low) * noise).astype(np.float32)


def panning(plane: np.ndarray, count: int, step: int) -> list[np.ndarray]:
    """``count`` HEIGHT x WIDTH views of a larger plane, moving ``step`` pixels right each frame."""
    return [np.ascontiguousarray(plane[:HEIGHT, index * step : index * step + WIDTH]) for index in range(count)]


class Network:
    """A stand-in network: ``colour(plane)``, remembering which of ``planes`` it ran on (by identity)."""

    def __init__(self, colour, planes: list[np.ndarray]):
        self.colour, self.planes = colour, planes
        self.ran_on: list[int] = []
        self.reasons: Counter[str] = Counter()  # the keyframes' reasons, once run

    def __call__(self, plane: np.ndarray) -> np.ndarray:
        self.ran_on.append(next(index for index, known in enumerate(self.planes) if known is plane))
        return self.colour(plane)


def run(colour, planes: list[np.ndarray], settings: KeyframeSettings | None = None) -> tuple[list[np.ndarray], Network]:
    """Every plane through a KeyframeStabilizer whose network gives ``colour(plane)``: the ab of
    every frame, in order, and the network (which frames it ran on, the keyframes' reasons)."""
    network = Network(colour, planes)
    keyframes = KeyframeStabilizer(TemporalStabilizer(), network, settings or KeyframeSettings())
    out = []
    for index, plane in enumerate(planes):
        out.extend(keyframes.push(plane, index))
    out.extend(keyframes.flush())
    assert [item for _, _, item in out] == list(range(len(planes)))  # every frame, in order
    network.reasons = keyframes.reasons
    return [ab for _, ab, _ in out], network


def grey_rgb(plane: np.ndarray) -> np.ndarray:
    """float32 HxW L (0..100) -> uint8 HxWx3 grey RGB, brighter where L is (the codec sees a texture)."""
    return np.repeat(np.rint(plane * 2.55).astype(np.uint8)[..., None], 3, axis=2)  # HxW -> HxWx3


def constant(a: float, b: float) -> np.ndarray:
    return np.broadcast_to(np.array([a, b], np.float32), (HEIGHT, WIDTH, 2)).copy()


def test_a_cut_always_gets_a_keyframe_and_no_colour_crosses_it():
    bright = panning(texture(1, HEIGHT, WIDTH + 40, 55, 95), 6, 2)  # shot 1: light, slow pan
    dark = panning(texture(2, HEIGHT, WIDTH + 40, 5, 45), 6, 2)  # shot 2: dark
    assert histogram_distance(flow_image(bright[-1], bright[-1].shape), flow_image(dark[0], dark[0].shape)) > 0.5
    red, blue = constant(40, 30), constant(10, -40)
    out, network = run(lambda plane: red if plane.mean() > 50 else blue, bright + dark)
    assert network.reasons["cut"] == 1 and 6 in network.ran_on  # the new shot's first frame
    assert network.ran_on == [0, 5, 6, 11] and network.reasons["shot end"] == 2  # and each shot's last
    for index, ab in enumerate(out):  # nothing of the other shot's colour, either way across the cut
        np.testing.assert_allclose(ab, red if index < 6 else blue, atol=1e-3, err_msg=f"frame {index}")


@pytest.mark.parametrize("max_interval", [1, 4, 8])
def test_a_long_still_shot_gets_a_keyframe_every_max_interval_frames(max_interval):
    still = [texture(3) for _ in range(25)]
    _, network = run(lambda plane: constant(20, 20), still, KeyframeSettings(max_interval=max_interval))
    assert network.ran_on == list(range(0, 25, max_interval))
    assert network.reasons == Counter(start=1, interval=len(network.ran_on) - 1)


def object_film(count: int = 12, step: int = 6) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A still textured background with a textured disc (brighter) moving ``step`` px right a
    frame, hiding and uncovering it: (L planes, bool masks of the disc)."""
    background, disc = texture(4, low=10, high=50), texture(5, low=60, high=95)
    planes, masks = [], []
    for index in range(count):
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        cv2.circle(mask, (20 + step * index, HEIGHT // 2), 28, 1, -1)  # cv2: (x, y)
        shifted = np.roll(disc, step * index, axis=1)  # the disc's own texture moves with it
        planes.append(np.where(mask > 0, shifted, background).astype(np.float32))
        masks.append(mask > 0)
    return planes, masks


def lightness_colour(plane: np.ndarray) -> np.ndarray:
    """A network whose colour is a function of the lightness: the true colour of every pixel is known."""
    return np.stack([plane - 50, 50 - plane], axis=2).astype(np.float32)  # HxW -> HxWx2


def test_an_uncovered_background_triggers_a_keyframe():
    planes, masks = object_film()
    never_stale = KeyframeSettings(max_interval=100, max_stale=1.0, bidirectional=False)
    stale = KeyframeSettings(max_interval=100, max_stale=0.05, bidirectional=False)
    outputs = {}
    reasons = {}
    for name, settings in {"never": never_stale, "auto": stale}.items():
        outputs[name], network = run(lightness_colour, planes, settings)
        reasons[name] = dict(network.reasons)
    assert reasons["never"] == {"start": 1}
    assert reasons["auto"]["occlusion"] >= 2, reasons["auto"]
    # the control: the same background without the disc, still, is never stale
    _, network = run(lightness_colour, [texture(4, low=10, high=50) for _ in range(12)], stale)
    assert dict(network.reasons) == {"start": 1}

    def wrong(abs_) -> float:  # share of the uncovered background whose colour is more than 10 off
        shares = []
        for index in range(1, len(planes)):
            uncovered = masks[0] & ~masks[index]
            error = np.abs(abs_[index] - lightness_colour(planes[index])).max(axis=2)
            shares.append(float((error[uncovered] > 10).mean()))
        return float(np.mean(shares))

    assert wrong(outputs["auto"]) < 0.5 * wrong(outputs["never"]), (wrong(outputs["auto"]), wrong(outputs["never"]))


def test_the_later_keyframe_colours_what_was_uncovered():
    """Carried back from the next keyframe, which sees it, uncovered background gets its own colour."""
    planes, masks = object_film(count=8)
    settings = KeyframeSettings(max_interval=8, max_stale=1.0)
    errors = {}
    for bidirectional in (False, True):
        out, network = run(
            lightness_colour, planes + [planes[-1].copy()], dataclasses.replace(settings, bidirectional=bidirectional)
        )
        assert network.ran_on == [0, 8]
        uncovered = masks[0] & ~masks[6]
        errors[bidirectional] = float(np.abs(out[6] - lightness_colour(planes[6])).max(axis=2)[uncovered].mean())
    assert errors[True] < 0.5 * errors[False], errors


def test_the_look_ahead_is_bounded_by_its_bytes():
    still = [texture(6) for _ in range(10)]
    frame_bytes = HEIGHT * WIDTH * (12 + 21)  # L and ab at full size; L, flows and trust at the flow size
    _, network = run(
        lambda plane: constant(20, 20), still, KeyframeSettings(max_interval=100, lookahead_bytes=3 * frame_bytes)
    )
    assert network.ran_on == [0, 4, 8, 9] and network.reasons["look-ahead"] == 2  # 9: the film's end


# --- network_every=1: exactly the per-frame stabilized pipeline -----------------------------------


def reference_stabilized(planes: list[np.ndarray], network) -> list[np.ndarray]:
    """The stabilizer as docs/video.md states it, written out from the flow primitives: per frame,
    the network's ab; within a shot, out = ab + blend * trusted * (warp(previous out) - ab)."""
    settings = StabilizerSettings()
    estimator = FlowEstimator(settings.flow_preset)
    previous_small: np.ndarray = np.empty(0)
    previous_out: np.ndarray = np.empty(0)
    outputs = []
    for plane in planes:
        height, width = plane.shape
        small = flow_image(plane, flow_size(height, width, settings.flow_max_side))
        ab = network(plane)
        if not previous_small.size or histogram_distance(small, previous_small) > settings.cut_threshold:
            out = np.array(ab, np.float32)
        else:
            backward, forward = estimator(small, previous_small), estimator(previous_small, small)
            trusted = consistent(backward, forward)
            carried_l = warp(previous_small, backward).astype(np.int16)
            trusted &= np.abs(carried_l - small.astype(np.int16)) <= settings.lightness_tolerance * 2.55
            weight = cv2.resize(
                trusted.astype(np.float32) * np.float32(settings.blend), (width, height), interpolation=cv2.INTER_LINEAR
            )  # cv2: (w, h)
            carried = warp(previous_out, resize_flow(backward, (height, width)))
            out = ab + weight[:, :, None] * (carried - ab)  # HxW -> HxWx1
        previous_small, previous_out = small, out
        outputs.append(out)
    return outputs


def test_network_every_1_is_the_per_frame_stabilized_pipeline_bit_for_bit(tmp_path, synthetic_model, monkeypatch):
    """colorize_video(network_every=1): every frame written is exactly network_ab, then the
    stabilizer written out above, then lab_to_rgb8, on the frame as decoded (the output before
    keyframes existed; the same frames the default "auto" skips the network on)."""
    import colorizer.video.colorize as colorize

    planes = panning(texture(7, HEIGHT, WIDTH + 60), 4, 3) + panning(texture(8, HEIGHT, WIDTH + 60, 5, 40), 2, 3)
    source = write_clip(tmp_path / "in.mp4", [grey_rgb(plane) for plane in planes])
    decoded, written = [], []
    write_frame = colorize.FilmWriter.write_frame

    def decode(*args):
        decoded.append(frame_pixels(*args))
        return decoded[-1]

    def write(writer, rgb, *args):
        written.append(rgb.copy())
        return write_frame(writer, rgb, *args)

    monkeypatch.setattr(colorize, "frame_pixels", decode)
    monkeypatch.setattr(colorize.FilmWriter, "write_frame", write)
    model = Colorizer(synthetic_model)
    result = colorize_video(model, source, tmp_path / "out.mp4", network_every=1)
    assert result.frames == len(written) == len(decoded) == 6 and result.network_frames == 6
    assert result.scene_cuts == 1 and result.keyframes == {}
    network = FrameColorizer(model).network_ab
    lightness_planes = [lightness(pixels) for pixels in decoded]
    for index, (plane, ab, got) in enumerate(
        zip(lightness_planes, reference_stabilized(lightness_planes, network), written)
    ):
        np.testing.assert_array_equal(got, lab_to_rgb8(plane, ab), err_msg=f"frame {index}")


def test_auto_skips_the_network_within_a_shot_and_keys_the_cut(tmp_path, synthetic_model):
    planes = panning(texture(7, HEIGHT, WIDTH + 60), 6, 2) + panning(texture(8, HEIGHT, WIDTH + 60, 5, 40), 5, 2)
    source = write_clip(tmp_path / "in.mp4", [grey_rgb(plane) for plane in planes])
    calls = []
    result = colorize_video(
        Colorizer(synthetic_model), source, tmp_path / "out.mp4", progress=lambda done, total, rate: calls.append(done)
    )
    assert result.frames == 11 and calls == list(range(1, 12))
    assert result.keyframes["start"] == 1 and result.keyframes["cut"] == 1 and result.scene_cuts == 1
    assert result.network_frames == sum(result.keyframes.values()) < 6


def test_network_every_must_be_auto_or_a_whole_number(tmp_path, synthetic_model):
    model = Colorizer(synthetic_model)
    for bad in (0, -1, "sometimes", 2.5, True):
        with pytest.raises(ColorizerError, match="network_every"):
            colorize_video(model, tmp_path / "in.mp4", tmp_path / "out.mp4", network_every=bad)
    with pytest.raises(ColorizerError, match="push and flush"):
        FrameColorizer(model, stabilizer=TemporalStabilizer())(np.zeros((HEIGHT, WIDTH, 3), np.uint8))
    # without a stabilizer "auto" is the network on every frame, one frame in and out
    assert FrameColorizer(model)(np.zeros((HEIGHT, WIDTH, 3), np.uint8)).shape == (HEIGHT, WIDTH, 3)
