"""A film's sound into the MP4 written: each audio stream copied, re-encoded to AAC, or left out.

A stream is copied packet for packet when MP4 takes its codec (``COPYABLE_AUDIO``) and FFmpeg's MP4
writer takes it as it is (its rate and channels: ``mp4_takes`` writes a trial header in memory).
Any other is decoded and re-encoded to AAC: at its own rate and channels when the AAC encoder takes
them (``aac_target``), else resampled and remixed by FFmpeg (``av.AudioResampler``) to 48 kHz and
stereo (mono stays mono), with a warning: 192 kHz or 16-channel PCM once failed the whole film with
FFmpeg's bare "Invalid argument". A stream that cannot be decoded is left out, with a warning. A
stream that fails while written is named in the error ("sound stream 1 (pcm_s16le)").

The sound decoded is counted (``SoundTrack.count``) against the film's ``limits.SoundBudget``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av

COPYABLE_AUDIO = ("aac", "mp3", "ac3", "eac3", "alac", "opus", "flac")  # and MP4 must accept it (FFmpeg says)
AAC_BITRATE_PER_CHANNEL = 96_000  # bits/s of re-encoded audio: 192 kb/s for stereo
MAX_AAC_BITRATE = 512_000
AAC_FALLBACK_RATE = 48_000  # for rates the AAC encoder does not take (192 kHz ...)
AAC_FORMAT = "fltp"  # the AAC encoder's one sample format
# swresample's downmix adds channels up (16 channels of a tone at 0.3 peaked at 1.45 in stereo: clipped);
# a matrix whose rows sum to at most 1 keeps the mix within the input's peaks.
RESAMPLER_OPTIONS = {"rematrix_maxval": "1.0"}
# FFmpeg's default layout for a count of channels (av_channel_layout_default), for streams whose
# channels are only counted ("1 channels", as PCM in Matroska): the AAC encoder refuses those.
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0(side)", 6: "5.1(side)", 7: "6.1", 8: "7.1"}


@dataclass(frozen=True)
class AudioOutcome:
    """What became of one audio stream: copied packet for packet, re-encoded to AAC (``change``: the
    resampling or remixing it took, e.g. "192000 Hz 16 channels -> 48000 Hz stereo"), or dropped."""

    codec: str
    action: str  # "copied", "re-encoded to aac" or "dropped"
    change: str = ""

    def __str__(self) -> str:
        return f"{self.codec} {self.action}" + (f" ({self.change})" if self.change else "")


def codec_name(stream: av.stream.Stream) -> str:
    """The codec's own name ("mp3"), not its decoder's ("mp3float"); "unknown" without a decoder."""
    return stream.codec_context.codec.canonical_name if stream.codec_context else "unknown"


def encoder_layout(layout: av.AudioLayout) -> av.AudioLayout | str:
    """``layout``, or the default one for its channel count when its channels have no positions."""
    if all(channel.name != "NONE" for channel in layout.channels):
        return layout
    return _DEFAULT_LAYOUTS.get(len(layout.channels), layout)


def audio_is_copyable(codec: str, supported: set[str]) -> bool:
    return codec in COPYABLE_AUDIO and codec in supported


def mp4_takes(source: av.audio.stream.AudioStream) -> bool:
    """Whether FFmpeg's MP4 writer takes ``source``'s packets as they are: a header with the stream
    alone, written in memory, succeeds."""
    try:
        with av.open(io.BytesIO(), "w", format="mp4") as trial:
            trial.add_stream_from_template(source)
            trial.start_encoding()
    except (av.error.FFmpegError, ValueError):
        return False
    return True


def aac_target(rate: int, layout: av.AudioLayout | str) -> tuple[int, av.AudioLayout | str]:
    """The (sample rate, layout) to encode a sound of ``rate`` and ``layout`` to AAC at: its own
    where the AAC encoder takes them, else AAC_FALLBACK_RATE and stereo (mono for one channel)."""
    target_rate = rate if rate in (av.Codec("aac", "w").audio_rates or ()) else AAC_FALLBACK_RATE
    if _aac_opens(target_rate, layout):
        return target_rate, layout
    return target_rate, "mono" if len(av.AudioLayout(layout).channels) == 1 else "stereo"


def _aac_opens(rate: int, layout: av.AudioLayout | str) -> bool:
    context = av.CodecContext.create("aac", "w")
    context.sample_rate, context.format = rate, AAC_FORMAT
    try:
        context.layout = layout
        context.open()
    except (av.error.FFmpegError, ValueError):
        return False
    return True


def describe(rate: int, layout: av.AudioLayout | str) -> str:
    """A sound's rate and channels in messages: "48000 Hz stereo", "192000 Hz 16 channels"."""
    return f"{rate} Hz {av.AudioLayout(layout).name}"


class SoundTrack:
    """One input audio stream's way into the output: ``stream`` (the output's), copied or re-encoded;
    a re-encoded one is resampled where the encoder's rate or channels differ from the input's.

    label: the stream in messages, "sound stream 1 (mp2)". seconds, samples: the sound decoded so far
    (seconds; samples of every channel)."""

    def __init__(self, stream: av.stream.Stream, copy: bool, label: str):
        self.stream, self.copy, self.label = stream, copy, label
        self._resampler: av.AudioResampler | None = None
        self._template: tuple | None = None  # (format, layout, rate) of the frames the resampler takes
        self.seconds = 0.0
        self.samples = 0

    def count(self, frame: av.AudioFrame) -> None:
        """A frame decoded from the input stream, counted before it is encoded."""
        self.samples += frame.samples * len(frame.layout.channels)
        self.seconds += frame.samples / frame.sample_rate if frame.sample_rate else 0.0

    def encode(self, frame: av.AudioFrame, start: float) -> list[av.Packet]:
        """A decoded frame of the input stream -> the output packets it completes. ``start``: the
        seconds taken off every time stamp."""
        rate = self.stream.codec_context.sample_rate
        if frame.pts is not None:
            shift = round(start / frame.time_base) if frame.time_base else 0
            frame.pts = round((frame.pts - shift) * frame.time_base * rate)
            frame.time_base = Fraction(1, rate)
        return [packet for resampled in self._resample(frame) for packet in self.stream.encode(resampled)]

    def flush(self) -> list[av.Packet]:
        """The packets still held by the resampler and the encoder (re-encoded streams)."""
        held = self._resampler.resample(None) if self._resampler is not None else []
        return [packet for frame in [*held, None] for packet in self.stream.encode(frame)]

    def _resample(self, frame: av.AudioFrame) -> list[av.AudioFrame]:
        """``frame`` in the encoder's format, layout and rate (the frame itself where it already is);
        a stream that changes its rate or channels on the way gets a new resampler."""
        template = (frame.format.name, frame.layout.name, frame.sample_rate)
        held: list[av.AudioFrame] = []
        if self._resampler is None or template != self._template:
            held = self._resampler.resample(None) if self._resampler is not None else []
            context = self.stream.codec_context
            self._resampler = av.AudioResampler(
                format=AAC_FORMAT, layout=context.layout, rate=context.sample_rate, options=RESAMPLER_OPTIONS
            )
            self._template = template
        return held + self._resampler.resample(frame)
