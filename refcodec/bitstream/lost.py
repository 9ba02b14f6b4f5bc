"""Lost frames of a keep-going decode (spec §8.3) as ranges of frame indices.

A forward frame-index jump of 2^32 - 1 in a few bytes of stream must not cost memory per missing index (spec
§10.2), so lost frames are kept and reported as inclusive `[first, last]` ranges, sorted and merged.
"""

from __future__ import annotations


def add_lost(ranges: list[list[int]], first: int, last: int) -> None:
    """Add frames first..last (inclusive) to sorted, merged `ranges`, keeping them sorted and merged."""
    if last < first:
        return
    if ranges and ranges[-1][1] + 1 >= first and ranges[-1][0] <= first:  # the usual case: append in order
        ranges[-1][1] = max(ranges[-1][1], last)
        return
    ranges.append([first, last])
    if len(ranges) > 1 and ranges[-2][0] > first:
        merged = merge_lost(ranges)
        ranges[:] = merged


def merge_lost(ranges: list[list[int]]) -> list[list[int]]:
    """Sorted, merged copy of `ranges` (touching or overlapping ranges become one)."""
    out: list[list[int]] = []
    for first, last in sorted(ranges):
        if out and first <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return out


def lost_count(ranges: list[list[int]]) -> int:
    """Number of frames in `ranges`."""
    return sum(last - first + 1 for first, last in ranges)


def format_lost(ranges: list[list[int]]) -> str:
    """'[1, 3-7] (6 frames)': each range as one index or first-last, then the count."""
    n = lost_count(ranges)
    parts = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
    return f"[{parts}] ({n} frame{'s' if n != 1 else ''})"
