"""Keep-going output timeline (spec §8.3): lost frames keep their slot, filled by repeating a decoded frame.

A receiver that shows video must not shorten it when packets are lost: frame i of the output is frame i of
the stream. Slot i holds the decoded frame i when it arrived, else the last decoded frame before it (the
first decoded frame for slots before any). The timeline has frame_count slots when the header gives it,
else one past the last index decoded or reported lost. Repeats are bounded so that a damaged stream cannot
make the output grow without limit (a frame index jump of 2^26 in a 36-byte stream): at most
MAX_REPEAT_FACTOR repeats per decoded frame plus MAX_REPEAT_EXTRA; beyond that the decoded frames are
written without filling the gaps, and the caller says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_REPEAT_FACTOR = 16
MAX_REPEAT_EXTRA = 64


@dataclass
class Timeline:
    """source[i]: position in the decoded frames list shown in output slot i. repeated: the slots that repeat
    another frame (their frame was lost). filled: False when the gaps were too large to fill (then
    `source` lists the decoded frames once each)."""

    source: list[int] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    filled: bool = True


def timeline(frame_indices: list[int], lost: list[list[int]], frame_count: int) -> Timeline:
    """Slots for the decoded frames (their stream indices, ascending) given the lost frames as inclusive
    [first, last] ranges (refcodec.bitstream.lost) and the header's frame_count (0: absent)."""
    n_dec = len(frame_indices)
    if n_dec == 0:
        return Timeline()
    last = max(frame_indices[-1], max((r[1] for r in lost), default=-1))
    total = frame_count if frame_count else last + 1
    if total - n_dec > MAX_REPEAT_FACTOR * n_dec + MAX_REPEAT_EXTRA:
        return Timeline(list(range(n_dec)), [], False)
    out = Timeline()
    j = 0
    for slot in range(total):
        while j + 1 < n_dec and frame_indices[j + 1] <= slot:
            j += 1
        out.source.append(j)
        if frame_indices[j] != slot:
            out.repeated.append(slot)
    return out
