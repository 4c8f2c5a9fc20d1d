"""The waveform's envelope, read from MP3 frame side information."""

from __future__ import annotations

import math
from array import array

import lameenc
import pytest

from audio.peaks import frame_levels, peaks


def _encode(samples: list[int], *, rate: int, channels: int, kbps: int) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(kbps)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(channels)
    encoder.set_quality(5)
    pcm = array("h", samples).tobytes()
    return bytes(encoder.encode(pcm)) + bytes(encoder.flush())


def _loud_then_quiet(rate: int, channels: int) -> list[int]:
    """One second of a loud tone, then one second at 1/100 of the amplitude."""
    out = []
    for n in range(rate * 2):
        amplitude = 20000 if n < rate else 200
        value = int(amplitude * math.sin(2 * math.pi * 440 * n / rate))
        out.extend([value] * channels)
    return out


@pytest.mark.parametrize(
    ("rate", "channels", "kbps"),
    [(16000, 1, 32), (44100, 2, 128), (8000, 1, 16), (48000, 1, 64), (22050, 2, 64)],
    ids=["mpeg2-mono", "mpeg1-stereo", "mpeg2.5-mono", "mpeg1-mono", "mpeg2-stereo"],
)
def test_loud_and_quiet_halves_are_told_apart(rate: int, channels: int, kbps: int) -> None:
    data = _encode(_loud_then_quiet(rate, channels), rate=rate, channels=channels, kbps=kbps)
    levels = frame_levels([data[i : i + 1000] for i in range(0, len(data), 1000)])
    samples_per_frame = 1152 if rate >= 32000 else 576
    assert abs(len(levels) - 2 * rate / samples_per_frame) < 6  # every frame found
    envelope = peaks(levels, 20)
    loud, quiet = envelope[2:8], envelope[12:18]
    assert min(loud) > max(quiet)


def test_an_id3_tag_and_garbage_are_skipped() -> None:
    data = _encode(_loud_then_quiet(16000, 1), rate=16000, channels=1, kbps=32)
    tag = b"ID3\x04\x00\x00\x00\x00\x01\x00" + b"\xff\xfb" * 64  # 128 bytes that look like sync
    clean = frame_levels([data])
    assert frame_levels([tag + data]) == clean
    garbage = b"\x00\x12garbage\xff\x00"
    assert list(frame_levels([garbage + data])) == list(clean)


def test_empty_and_silent_input() -> None:
    assert peaks(frame_levels([b""])) == []
    silent = _encode([0] * 16000, rate=16000, channels=1, kbps=32)
    assert set(peaks(frame_levels([silent]), 10)) == {0.0}
