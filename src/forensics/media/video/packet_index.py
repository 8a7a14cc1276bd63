"""The packet index of a video stream: every packet's timestamps and keyframe flag, read without decoding.

Reading packets costs a small fraction of decoding them (tens of milliseconds for a minute of
1080p), and knowing them all up front lets the frame extractor plan: which frame is on screen at
a given time, which keyframe to start decoding from, which stretches of the file it may skip,
and how to split the work across cores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction

import av
import av.error
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PacketIndex:
    """Timestamps and flags of every packet of one video stream, in decode (file) order.

    A packet here is one coded picture. Packets without a presentation timestamp take their
    decode timestamp; when neither is known (raw elementary streams), `timestamps_known` is
    False, pts holds packet numbers, and callers must decode every packet in order and number
    the frames as they come out (see `assumed_rate`).
    """

    time_base: Fraction  # seconds per timestamp tick of the stream
    pts: NDArray[np.int64]  # (n,) presentation timestamp per packet, decode order, in time_base ticks
    key: NDArray[np.bool_]  # (n,) the container's keyframe (random access) flag per packet
    pos: NDArray[np.int64]  # (n,) byte offset of each packet in the file; -1 where unknown
    timestamps_known: bool  # every packet had a pts or dts
    # Raw streams (.h264, .hevc) carry no timestamps. Their frames are then numbered in the
    # order the decoder outputs them, at this many frames a second (declared or guessed), with
    # time_base its inverse, so that pts is the frame number. None when timestamps are known.
    assumed_rate: Fraction | None
    truncated: bool  # the demuxer stopped on an error before the end of the file

    @property
    def count(self) -> int:
        """How many coded pictures the stream holds."""
        return int(self.pts.shape[0])

    @property
    def keyframe_packets(self) -> NDArray[np.intp]:
        """Decode-order positions of the packets flagged as keyframes."""
        return np.flatnonzero(self.key)

    def seconds(self, pts: int) -> float:
        """Gives a timestamp in seconds, as exact as a float allows."""
        return float(pts * self.time_base)

    def sorted_pts(self) -> NDArray[np.int64]:
        """Gives all presentation timestamps in presentation order."""
        return np.sort(self.pts, kind="stable")

    def gop_bounds(self) -> list[tuple[int, int]]:
        """Gives each GOP as a half-open range of decode-order packet positions."""
        starts = self.keyframe_packets.tolist()
        if not starts or starts[0] != 0:
            starts = [0, *starts]
        ends = [*starts[1:], self.count]
        return list(zip(starts, ends))


def index_packets(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> PacketIndex:
    """Gives the PacketIndex of `stream`, reading the container from its start to its end.

    Leaves the container at its end; callers seek before decoding. A demuxing error part-way
    (a truncated file) ends the index early and sets `truncated`.
    """
    pts_list: list[int] = []
    key_list: list[bool] = []
    pos_list: list[int] = []
    known = True
    truncated = False
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the demuxer's end-of-stream marker, not a picture
            timestamp = packet.pts if packet.pts is not None else packet.dts
            if timestamp is None:
                known = False
                timestamp = len(pts_list)
            pts_list.append(int(timestamp))
            key_list.append(bool(packet.is_keyframe))
            pos_list.append(int(packet.pos) if packet.pos is not None else -1)
    except (av.error.InvalidDataError, av.error.EOFError, av.error.OSError) as ex:
        # A truncated file ends in a half-written packet; what came before is still good.
        log.warning("demuxing stopped after %d packets: %s", len(pts_list), ex)
        truncated = True
    time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
    assumed_rate = None
    if not known:
        assumed_rate = Fraction(stream.guessed_rate or stream.average_rate or 25)
        time_base = 1 / assumed_rate
        pts_list = list(range(len(pts_list)))  # frame numbers, whatever few timestamps there were
    return PacketIndex(
        time_base=time_base,
        pts=np.asarray(pts_list, dtype=np.int64),
        key=np.asarray(key_list, dtype=np.bool_),
        pos=np.asarray(pos_list, dtype=np.int64),
        timestamps_known=known,
        assumed_rate=assumed_rate,
        truncated=truncated,
    )
