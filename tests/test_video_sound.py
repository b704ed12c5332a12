"""A film's sound through colorize_video (issue #23, items 9 and 10): sound MP4's AAC cannot hold is
resampled to 48 kHz stereo, keeping its length and its level, with a warning naming it; sound out of
proportion to the film's pictures is refused, before any work where its packets say so. The hostile
corpus (tests/test_hostile_films.py) runs the same cases through the command line and the app."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from colorizer import Colorizer
from colorizer.errors import VideoTooLargeError
from colorizer.pipeline import colorize_video
from colorizer.video.limits import (
    MAX_SOUND_BYTES_PER_SECOND,
    MAX_SOUND_PACKETS_PER_SECOND,
    MAX_SOUND_SAMPLES_PER_SECOND,
    MAX_SOUND_STREAMS,
    SoundBudget,
)

pytestmark = pytest.mark.slow  # films' sound: films, not in the quick subset

WIDTH, HEIGHT, FPS, FRAMES = 64, 48, 25, 10  # 0.4 s of pictures
TONE = 0.3  # the tone's peak


@pytest.fixture(scope="module")
def colorizer(synthetic_model):
    return Colorizer(synthetic_model)


def pcm_film(path, rate: int, channels: int, layout: str, seconds: float = FRAMES / FPS, codec="pcm_s16le"):
    """Matroska: FRAMES grey frames and ``seconds`` of a 440 Hz tone at TONE on every channel."""
    with av.open(str(path), "w", format="matroska") as output:
        video = output.add_stream("libx264", rate=FPS, options={"bf": "0"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        sound = output.add_stream(codec, rate=rate, layout=layout)
        for index in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((HEIGHT, WIDTH, 3), 20 * index, np.uint8), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        count = round(seconds * rate)
        wave = np.rint(TONE * 32767 * np.sin(2 * np.pi * 440 * np.arange(count) / rate)).astype(np.int16)
        for start in range(0, count, 4096):
            block = np.repeat(wave[start : start + 4096], channels)[None]  # interleaved
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            output.mux(sound.encode(frame))
        output.mux(sound.encode(None))
    return path


def decoded_sound(path) -> tuple[str, float, np.ndarray]:
    """The output's first sound stream: "codec rate Hz layout", its seconds, float samples channels x n."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = np.concatenate([frame.to_ndarray() for frame in container.decode(stream)], axis=1)
        context = stream.codec_context
        return (
            f"{context.name} {context.sample_rate} Hz {context.layout.name}",
            samples.shape[1] / context.sample_rate,
            samples,
        )


@pytest.mark.parametrize(
    ("rate", "channels", "layout", "held", "target"),
    [
        (192_000, 2, "stereo", "192000 Hz stereo", "48000 Hz stereo"),
        (48_000, 16, "hexadecagonal", "48000 Hz 16 channels", "48000 Hz stereo"),  # Matroska keeps the count only
        (96_000, 12, "7.1.4", "96000 Hz 12 channels", "96000 Hz stereo"),  # a rate AAC takes is kept
    ],
)
def test_sound_aac_cannot_hold_is_resampled_keeping_its_length_and_level(
    tmp_path, colorizer, rate, channels, layout, held, target
):
    source = pcm_film(tmp_path / "reel.mkv", rate, channels, layout)
    result = colorize_video(colorizer, source, tmp_path / "reel_color.mp4")  # was: "FFmpeg failed (Invalid argument)"
    sound, seconds, samples = decoded_sound(result.path)
    assert sound == f"aac {target}"
    assert [str(outcome) for outcome in result.audio] == [f"pcm_s16le re-encoded to aac ({held} -> {target})"]
    assert result.warnings == (f"sound stream 1 (pcm_s16le): AAC cannot hold {held}; resampled to {target}",)
    assert seconds == pytest.approx(FRAMES / FPS, abs=0.05)  # AAC adds at most a frame of priming
    middle = samples[:, samples.shape[1] // 4 : -samples.shape[1] // 4]
    peak = np.abs(middle).max(axis=1)
    assert np.all(np.abs(peak - TONE) < 0.05), f"peaks {peak}: the mix is neither silent nor clipped"


def test_a_real_films_sound_is_copied_or_re_encoded_as_it_is(tmp_path, colorizer):
    """48 kHz stereo PCM: AAC holds it, no resampling, no warning."""
    result = colorize_video(colorizer, pcm_film(tmp_path / "real.mkv", 48_000, 2, "stereo"), tmp_path / "real.mp4")
    assert [str(outcome) for outcome in result.audio] == ["pcm_s16le re-encoded to aac"]
    assert result.warnings == ()
    assert decoded_sound(result.path)[0] == "aac 48000 Hz stereo"


def test_sound_packets_out_of_proportion_are_refused_before_any_work(tmp_path):
    class NoNetwork:  # the refusal must come before the first frame reaches the network
        def predict(self, *args, **kwargs):
            raise AssertionError("the network was called")

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as output:
        video = output.add_stream("libx264", rate=FPS, options={"bf": "0"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        sound = output.add_stream("pcm_u8", rate=8000, layout="mono")
        for index in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((HEIGHT, WIDTH, 3), 99, np.uint8), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        limit = int(MAX_SOUND_PACKETS_PER_SECOND * (FRAMES / FPS + 2))
        for index in range(limit + 1):  # one packet over
            packet = av.Packet(b"\x80")
            packet.stream, packet.time_base, packet.pts = sound, Fraction(1, 1000), index * 400 // (limit + 1)
            packet.dts = packet.pts
            output.mux(packet)
    film = tmp_path / "crackle.mkv"
    film.write_bytes(buffer.getvalue())
    with pytest.raises(VideoTooLargeError, match=rf"^crackle\.mkv: the sound holds {limit + 1:,} packets for 0\.40 s"):
        colorize_video(NoNetwork(), film, tmp_path / "out" / "crackle_color.mp4")
    assert not (tmp_path / "out").exists()


def test_the_budget_admits_the_heaviest_real_sound_and_grows_with_the_film():
    """A second of film with 16 streams of 16-channel 32-bit 192 kHz PCM (FFmpeg reads PCM in packets of
    at most 1,024 samples) is within every rate; twice a rate is refused; a longer film allows more."""
    budget = SoundBudget(1.0)
    packets, size, samples = 16 * 188, 16 * 192_000 * 4, 16 * 192_000
    budget.check_read(16, packets, size, "real.mov")
    budget.check_decoded(samples, 1.0, "sound stream 1 (pcm_s32le)", "real.mov")
    seconds = budget.seconds
    for streams, count, bytes_ in (
        (MAX_SOUND_STREAMS + 1, 0, 0),
        (1, int(2 * MAX_SOUND_PACKETS_PER_SECOND * seconds), 0),
        (1, 0, int(2 * MAX_SOUND_BYTES_PER_SECOND * seconds)),
    ):
        with pytest.raises(VideoTooLargeError, match=r"^real\.mov: .*more than the limit of"):
            budget.check_read(streams, count, bytes_, "real.mov")
    with pytest.raises(VideoTooLargeError, match=r"decoded samples"):
        budget.check_decoded(int(2 * MAX_SOUND_SAMPLES_PER_SECOND * seconds), 1.0, "sound stream 1", "real.mov")
    with pytest.raises(VideoTooLargeError, match=r"^real\.mov: sound stream 1 lasts longer than the film's 1\.00 s"):
        budget.check_decoded(1, seconds + 0.1, "sound stream 1", "real.mov")
    SoundBudget(100.0).check_read(1, int(2 * MAX_SOUND_PACKETS_PER_SECOND * seconds), 0, "long.mov")
