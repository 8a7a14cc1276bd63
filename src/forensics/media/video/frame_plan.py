"""Which frames to take, and which packets to decode to get them, planned from the packet index alone."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from forensics.errors import ParameterError
from forensics.media.video.gop_decoder import DecodeSpan
from forensics.media.video.packet_index import PacketIndex


def evenly(items: Sequence[int], max_count: int | None) -> list[int]:
    """Gives at most `max_count` of `items`, spread evenly from first to last, in order."""
    if max_count is None or len(items) <= max_count:
        return list(items)
    if max_count <= 0:
        return []
    if max_count == 1:
        return [items[0]]
    picks = np.linspace(0, len(items) - 1, max_count).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]


def keyframe_pts(index: PacketIndex) -> list[int]:
    """Gives the presentation timestamps of the keyframe packets, in presentation order."""
    return sorted({int(index.pts[i]) for i in index.keyframe_packets})


def every_pts(index: PacketIndex, every_s: float) -> list[int]:
    """Gives the pts of the frame on screen at each multiple of `every_s` from the first frame.

    The frame on screen at time t is the last one presented at or before t, so variable frame
    rate and dropped frames give the right picture; a frame shown across several sampling
    times is listed once.
    """
    if not every_s > 0:
        raise ParameterError(f"every_s must be a positive number of seconds, not {every_s}")
    ordered = index.sorted_pts().tolist()
    if not ordered:
        return []
    # Exact rationals, so 0.1 s steps do not drift over an hour of a 1/90000 time base.
    step_ticks = Fraction(str(every_s)) / index.time_base
    first, last = ordered[0], ordered[-1]
    chosen: list[int] = []
    k = 0
    while True:
        target = first + k * step_ticks
        if target > last:
            break
        at = bisect.bisect_right(ordered, target) - 1
        pts = ordered[at]
        if not chosen or chosen[-1] != pts:
            chosen.append(pts)
        k += 1
        if k > 10_000_000:  # 10^7 samples is past any sane request; stop rather than hang
            break
    return chosen


def spans_for(index: PacketIndex, wanted: set[int] | frozenset[int]) -> list[DecodeSpan]:
    """Gives the fewest packet runs that decode every wanted frame, each starting on a keyframe.

    Within a GOP decoding stops after the last wanted picture; a GOP without one is skipped,
    unless the next GOP opens with wanted pictures that refer back into it (open GOP).
    """
    gops = index.gop_bounds()
    wanted_array = np.fromiter(wanted, dtype=np.int64, count=len(wanted))
    spans: list[DecodeSpan] = []
    for number, (start, end) in enumerate(gops):
        inside = np.flatnonzero(np.isin(index.pts[start:end], wanted_array))
        if inside.size == 0:
            continue
        last = start + int(inside.max()) + 1
        first = start
        leading = index.pts[start:end] < index.pts[start]
        if number > 0 and np.any(leading[inside]):
            first = gops[number - 1][0]
        if spans and first <= spans[-1].end_packet:
            spans[-1] = DecodeSpan(spans[-1].first_packet, max(last, spans[-1].end_packet))
        else:
            spans.append(DecodeSpan(first, last))
    return spans
