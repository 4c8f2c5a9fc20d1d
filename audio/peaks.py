"""A waveform for the player, from the MP3's frame headers, without decoding the audio.

Every Layer III frame carries, per granule and channel, a ``global_gain`` (the quantiser's
step: louder passages get larger steps) and ``big_values`` (zero when the granule is all but
silent). Reading those from the side information gives a loudness envelope good enough to
see who speaks when and to aim a click, at the cost of reading the file once, in constant
memory, with no audio decoder. The result is cached per recording.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.left = len(data) * 8

    def read(self, count: int) -> int:
        self.left -= count
        return (self.value >> self.left) & ((1 << count) - 1)


def _frame(header: int) -> tuple[int, int] | None:
    """(frame length, side-info layout key) for a valid Layer III header, else None."""
    if header >> 21 != 0x7FF:
        return None
    version = (header >> 19) & 3
    layer = (header >> 17) & 3
    bitrate_index = (header >> 12) & 0xF
    rate_index = (header >> 10) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    padding = (header >> 9) & 1
    rate = _SAMPLE_RATES[version][rate_index]
    if version == 3:
        length = 144 * _BITRATES[1][bitrate_index] * 1000 // rate + padding
    else:
        length = 72 * _BITRATES[2][bitrate_index] * 1000 // rate + padding
    return length, version


# The largest value each Huffman table can code; an encoder picks the smallest table that
# fits a region, so this bounds the region's loudest quantised line within a factor of two.
_TABLE_MAX = [0, 1, 2, 2, 0, 3, 3, 5, 5, 5, 7, 7, 7, 15, 0, 15]
_TABLE_MAX += [15 + 2**linbits - 1 for linbits in (1, 2, 3, 4, 6, 8, 10, 13)]
_TABLE_MAX += [15 + 2**linbits - 1 for linbits in (4, 5, 6, 7, 8, 9, 11, 13)]


def _frame_level(frame: bytes, version: int) -> int:
    """The frame's loudness in quarter-octaves of amplitude (1-255), or 0 when silent.

    A granule's amplitude is about its quantiser step, 2 ** (global_gain / 4), times its
    largest quantised value to the power 4/3; the Huffman tables it chose bound that value.
    """
    header = int.from_bytes(frame[:4], "big")
    mono = (header >> 6) & 3 == 3
    channels = 1 if mono else 2
    offset = 4 if (header >> 16) & 1 else 6  # a CRC follows the header when bit 16 is 0
    mpeg1 = version == 3
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    if len(frame) < offset + side:
        return 0
    bits = _Bits(frame[offset : offset + side])
    if mpeg1:
        bits.read(9 + (5 if mono else 3) + 4 * channels)
    else:
        bits.read(8 + (1 if mono else 2))
    loudest = 0.0
    for _ in range(2 if mpeg1 else 1):
        for _ in range(channels):
            bits.read(12)  # part2_3_length
            big_values = bits.read(9)
            gain = bits.read(8)
            bits.read(4 if mpeg1 else 9)  # scalefac_compress
            if bits.read(1):  # window switching: two regions, then subblock gains
                bits.read(3)
                tables = [bits.read(5), bits.read(5)]
                bits.read(9)
            else:
                tables = [bits.read(5), bits.read(5), bits.read(5)]
                bits.read(7)
            bits.read(3 if mpeg1 else 2)
            peak = max(_TABLE_MAX[t] for t in tables)
            if big_values and peak:
                amplitude = (gain - 210) / 4 + 4 / 3 * math.log2(peak)  # log2 of amplitude
                loudest = max(loudest, min(255.0, max(1.0, (amplitude + 48) * 4)))
    return int(loudest)


def frame_levels(chunks: Iterable[bytes]) -> array[int]:
    """One level (0-255) per MP3 frame of the stream, reading it chunk by chunk."""
    levels = array("B")
    buffer = b""
    skip = 0
    first = True
    for chunk in chunks:
        buffer += chunk
        if first and len(buffer) >= 10:
            first = False
            if buffer[:3] == b"ID3":  # an ID3v2 tag: its size is four 7-bit bytes
                size = buffer[6:10]
                skip = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
        if skip:
            dropped = min(skip, len(buffer))
            buffer, skip = buffer[dropped:], skip - dropped
        pos = 0
        while pos + 4 <= len(buffer):
            found = _frame(int.from_bytes(buffer[pos : pos + 4], "big"))
            if found is None:
                pos += 1  # resynchronise on the next frame header
                continue
            length, version = found
            if pos + length > len(buffer):
                break
            levels.append(_frame_level(buffer[pos : pos + length], version))
            pos += length
        buffer = buffer[pos:]
    return levels


def peaks(levels: array[int], count: int = 800) -> list[float]:
    """``count`` peaks in 0..1 from per-frame levels, on a decibel-like scale.

    Levels are logarithmic (four steps double the amplitude), so they map linearly
    between the quiet floor (5th percentile) and the loud ceiling (99th percentile) of this
    recording: pauses sit low, speech high, and one loud click does not flatten the rest.
    """
    if not levels:
        return []
    voiced = sorted(v for v in levels if v)
    if not voiced:
        return [0.0] * min(count, len(levels))
    floor = voiced[len(voiced) * 5 // 100] - 2
    ceiling = max(floor + 4, voiced[min(len(voiced) - 1, len(voiced) * 99 // 100)])
    count = min(count, len(levels))
    out = []
    for i in range(count):
        start = i * len(levels) // count
        end = max(start + 1, (i + 1) * len(levels) // count)
        level = max(levels[start:end])
        scaled = (level - floor) / (ceiling - floor) if level else 0.0
        # Squared: a log scale drawn linearly looks flat; this keeps pauses visibly low.
        out.append(round(min(1.0, max(0.02 if level else 0.0, scaled * scaled)), 3))
    return out
