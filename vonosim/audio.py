"""Playable MP3 audio for the simulator's recordings.

Every recording is a constant-bit-rate MPEG-2 Layer III stream (16 kHz, mono, 32 kbit/s):
each frame holds 576 samples (36 ms) in exactly 144 bytes, so a recording of any length is a
run of frames taken from a small library of pre-encoded "conversation" segments. Nothing is
materialised per recording: byte ``n`` of a recording is a byte of frame ``n // 144``, which
makes streams, ranges and a 200 MB recording cost the same constant memory.

The library is synthesised once (two voices taking turns over line hiss, with a ringback
tone at the start of each call) and kept in a disk cache keyed by its parameters.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from array import array
from collections.abc import Iterator
from pathlib import Path

import lameenc

SAMPLE_RATE = 16_000
BITRATE_KBPS = 32
SAMPLES_PER_FRAME = 576
FRAME_BYTES = 72 * BITRATE_KBPS * 1000 // SAMPLE_RATE  # 144, no padding at this rate
BYTES_PER_SECOND = BITRATE_KBPS * 1000 // 8
SEGMENT_FRAMES = 250  # 9 s: a whole number of frames and of seconds
SEGMENTS = 6
LIBRARY_VERSION = 2

_TABLE_SIZE = 2048
# (F1, F2) of a few vowels, Hz: enough to make syllables sound like speech, not beeps.
_VOWELS = ((800, 1200), (400, 2300), (300, 850), (500, 1800), (650, 1000), (350, 2000))


def frames_for_duration(seconds: int) -> int:
    """How many frames make a recording of ``seconds`` (never fewer than one)."""
    return max(1, round(seconds * SAMPLE_RATE / SAMPLES_PER_FRAME))


def size_for_duration(seconds: int) -> int:
    """The exact MP3 size in bytes of a recording lasting ``seconds``."""
    return frames_for_duration(seconds) * FRAME_BYTES


def _wavetable(f1: float, f2: float, f0: float) -> list[float]:
    """One period of a voiced sound: harmonics of f0 weighted by two formant peaks."""
    weights = []
    for k in range(1, 16):
        freq = k * f0
        weight = 0.0
        for formant, bandwidth in ((f1, 90.0), (f2, 140.0)):
            weight += 1.0 / (1.0 + ((freq - formant) / bandwidth) ** 2)
        weights.append(weight / k**0.5)
    peak = sum(weights)
    table = []
    for i in range(_TABLE_SIZE):
        x = 2 * math.pi * i / _TABLE_SIZE
        table.append(sum(w * math.sin(k * x) for k, w in enumerate(weights, start=1)) / peak)
    return table


def _synthesise_segment(index: int) -> array[int]:
    rng = random.Random(f"vonosim-segment-{index}")
    total = SEGMENT_FRAMES * SAMPLES_PER_FRAME
    out = array("h", (int(rng.gauss(0, 90)) for _ in range(total)))  # line hiss
    voices = ((205.0, 0), (118.0, 1))  # agent and caller: (pitch, voice)
    tables = {
        (voice, v): _wavetable(f1 * (1.12 if voice == 0 else 1.0), f2, pitch)
        for pitch, voice in voices
        for v, (f1, f2) in enumerate(_VOWELS)
    }
    pos = 0
    if index == 0:
        # Brazilian ringback: 425 Hz, one second on, then the call is answered.
        for n in range(SAMPLE_RATE):
            out[n] = int(6000 * math.sin(2 * math.pi * 425 * n / SAMPLE_RATE))
        pos = int(SAMPLE_RATE * 1.4)
    speaker = index % 2
    while pos < total:
        pitch, voice = voices[speaker]
        turn_end = min(total, pos + int(SAMPLE_RATE * rng.uniform(1.2, 3.2)))
        while pos < turn_end:
            length = int(SAMPLE_RATE * rng.uniform(0.11, 0.28))
            table = tables[(voice, rng.randrange(len(_VOWELS)))]
            glide = rng.uniform(-0.12, 0.12)
            loudness = rng.uniform(5000, 9000)
            phase = 0.0
            for n in range(min(length, total - pos)):
                x = n / length
                freq = pitch * (1 + glide * x)
                phase = (phase + freq * _TABLE_SIZE / SAMPLE_RATE) % _TABLE_SIZE
                envelope = math.sin(math.pi * x) ** 0.7
                sample = out[pos + n] + loudness * envelope * table[int(phase)]
                out[pos + n] = max(-32768, min(32767, int(sample)))
            pos += length + int(SAMPLE_RATE * rng.uniform(0.02, 0.09))
        pos += int(SAMPLE_RATE * rng.uniform(0.25, 0.7))  # the other side takes a breath
        speaker = 1 - speaker
    return out


def split_frames(data: bytes) -> list[bytes]:
    """Split an MPEG audio stream into frames, using each frame header's length."""
    frames = []
    pos = 0
    while pos + 4 <= len(data):
        header = int.from_bytes(data[pos : pos + 4], "big")
        if header >> 21 != 0x7FF:
            raise ValueError(f"no MPEG frame sync at byte {pos}")
        version_bits = (header >> 19) & 0b11  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        bitrate_index = (header >> 12) & 0xF
        rate_index = (header >> 10) & 0b11
        padding = (header >> 9) & 1
        rates = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
        kbps_v1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
        kbps_v2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
        sample_rate = rates[version_bits][rate_index]
        if version_bits == 3:
            length = 144 * kbps_v1[bitrate_index] * 1000 // sample_rate + padding
        else:
            length = 72 * kbps_v2[bitrate_index] * 1000 // sample_rate + padding
        frames.append(data[pos : pos + length])
        pos += length
    return frames


def _encode_segment(samples: array[int]) -> list[bytes]:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(BITRATE_KBPS)
    encoder.set_in_sample_rate(SAMPLE_RATE)
    encoder.set_channels(1)
    encoder.set_quality(5)
    data = bytes(encoder.encode(samples.tobytes())) + bytes(encoder.flush())
    # LAME's "Info" tag frame describes a whole file; inside a concatenation it would lie.
    frames = [f for f in split_frames(data) if b"Info" not in f[:40] and b"Xing" not in f[:40]]
    if any(len(f) != FRAME_BYTES for f in frames):
        raise RuntimeError("the encoder did not produce constant-size frames")
    return frames[:SEGMENT_FRAMES]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vonosim"


class FrameLibrary:
    """The pre-encoded frames every recording is cut from, cached on disk."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        cache_dir = cache_dir or _default_cache_dir()
        key = hashlib.sha256(
            f"{LIBRARY_VERSION}-{SAMPLE_RATE}-{BITRATE_KBPS}-{SEGMENTS}-{SEGMENT_FRAMES}".encode()
        ).hexdigest()[:16]
        path = cache_dir / f"frames-{key}.bin"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        if len(data) != SEGMENTS * SEGMENT_FRAMES * FRAME_BYTES:
            frames: list[bytes] = []
            for index in range(SEGMENTS):
                segment = _encode_segment(_synthesise_segment(index))
                # Pad a short flush with copies so every segment is whole.
                while len(segment) < SEGMENT_FRAMES:
                    segment.append(segment[-1])
                frames.extend(segment)
            data = b"".join(frames)
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        self._data = data
        self.frame_count = len(data) // FRAME_BYTES

    def recording_bytes(
        self,
        record_id: int,
        duration: int,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = 64 * 1024,
    ) -> Iterator[bytes]:
        """Yield bytes ``start`` to ``end`` (exclusive) of a recording, in chunks.

        A recording starts with the ringback segment and continues from a place in the
        library chosen by its id, so neighbouring recordings do not sound alike.
        """
        size = size_for_duration(duration)
        end = size if end is None else min(end, size)
        offset = (record_id * 7919 % (self.frame_count - SEGMENT_FRAMES)) * FRAME_BYTES
        library_bytes = len(self._data)
        opening = SEGMENT_FRAMES * FRAME_BYTES
        pos = start
        while pos < end:
            if pos < opening:
                source, limit = pos, opening  # the ringback segment opens every call
            else:
                source, limit = (pos + offset) % library_bytes, library_bytes
            take = min(chunk_size, end - pos, limit - source)
            yield self._data[source : source + take]
            pos += take
