"""Display rotation: what the display matrix asks a player to do, and doing it to a picture.

Phones store portrait video as landscape pictures plus a display matrix (QuickTime `tkhd`,
MP4, or an H.264/HEVC SEI) telling players to turn them. FFmpeg hands that matrix to every
decoded frame as side data, so this module reads it there: PyAV exposes no stream-level
side data, and the frame's copy also carries per-frame SEI orientation when a codec has one.

Convention, the one every record of this package uses: `rotation_cw_deg` is the clockwise turn,
in degrees (0, 90, 180 or 270), that a player gives the coded picture for display. An iPhone
held upright records a turn of 90 (ffprobe's `rotation` and PyAV's `VideoFrame.rotation` count
counter-clockwise and say -90: they are converted where they are read, here).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import av
import av.error
import av.sidedata.sidedata
import numpy as np
from numpy.typing import NDArray

from forensics.errors import MediaUnreadable, ParameterError

if TYPE_CHECKING:
    from av.sidedata.sidedata import SideData

log = logging.getLogger(__name__)

_FIXED_16_16 = float(1 << 16)
# Packets read while looking for a first frame: enough for any sane stream's first picture
# (B-frame delay, frame threads), bounded so a stream that decodes nothing cannot hang us.
_MAX_PACKETS_FOR_FIRST_FRAME = 400


@dataclass(frozen=True, slots=True)
class DisplayTransform:
    """How a player turns and mirrors the coded picture; the identity when there is no matrix."""

    rotation_cw_deg: int = 0  # clockwise, one of 0, 90, 180, 270 (ffprobe's rotation negated, but see hflip)
    # Mirrored left-right after the rotation. ffprobe folds a mirror into its angle (a plain
    # mirror reads "rotation -180"); we keep the two apart so the picture can be rebuilt.
    hflip: bool = False
    has_matrix: bool = False  # whether the stream carried a display matrix at all

    @property
    def is_identity(self) -> bool:
        """Whether the picture is shown as coded."""
        return self.rotation_cw_deg == 0 and not self.hflip

    @property
    def swaps_axes(self) -> bool:
        """Whether width and height trade places on display."""
        return self.rotation_cw_deg in (90, 270)


IDENTITY = DisplayTransform()


def transform_from_matrix(matrix: NDArray[np.int32]) -> DisplayTransform:
    """Gives the DisplayTransform of a 3 x 3 FFmpeg display matrix (int32, row-major, 16.16).

    FFmpeg's matrix maps a coded point as (x', y', w) = (x, y, 1) @ M, so x' = a x + c y and
    y' = b x + d y with M = [[a, b, u], [c, d, v], [tx, ty, w]] in image coordinates (y down).
    Angles that are not a multiple of 90 degrees are rounded to the nearest one: a player
    would show those letterboxed, which no phone records.
    """
    m = np.asarray(matrix, dtype=np.int64).reshape(3, 3)
    a, b, c, d = (int(value) / _FIXED_16_16 for value in (m[0, 0], m[0, 1], m[1, 0], m[1, 1]))
    if a == b == c == d == 0:
        return IDENTITY  # an all-zero matrix is malformed; players ignore it
    # The same arithmetic as av_display_rotation_get(), so our angle matches ffprobe's.
    scale_x, scale_y = math.hypot(a, c), math.hypot(b, d)
    angle = -math.degrees(math.atan2(b / scale_y, a / scale_x))
    determinant = a * d - b * c
    hflip = determinant < 0
    if hflip:
        # A mirror shows as a negative determinant; the angle then comes from the unmirrored
        # columns. Undo the flip of x (first row) and measure again.
        angle = -math.degrees(math.atan2(b / scale_y, -a / scale_x))
    return DisplayTransform(rotation_cw_deg=_clockwise(round(angle / 90.0) * 90), hflip=hflip, has_matrix=True)


def transform_of_frame(frame: av.VideoFrame) -> DisplayTransform:
    """Gives the display transform carried by one decoded frame's side data."""
    try:
        # PyAV's frame.pyi types side_data as a TypedDict; it is a SideDataContainer, which yields SideData.
        carried: list[SideData] = list(frame.side_data)  # type: ignore[arg-type]
    except ValueError:
        # PyAV 18 cannot name side data that a newer FFmpeg adds (EXIF on a JPEG's frame, type 31)
        # and refuses to list any of it. Its own reading of the display matrix still works, but
        # without the mirror; a mirrored picture is then shown as coded and turned only.
        degrees = int(getattr(frame, "rotation", 0) or 0)  # counter-clockwise
        if degrees % 90:
            return IDENTITY
        return DisplayTransform(rotation_cw_deg=_clockwise(degrees), hflip=False, has_matrix=bool(degrees))
    for side_data in carried:
        if side_data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            raw = bytes(side_data)
            if len(raw) != 36:
                log.warning("display matrix of %d bytes ignored (expected 36)", len(raw))
                return IDENTITY
            return transform_from_matrix(np.frombuffer(raw, dtype=np.int32))
    return IDENTITY


def display_rotation_cw_deg(stream: av.video.stream.VideoStream) -> int:
    """Gives the clockwise display rotation of a video stream in degrees (0, 90, 180, 270); 0 without one.

    An upright iPhone video gives 90 (ffprobe says -90, counter-clockwise). It is read from the first
    decoded frame of a second, private opening of the same file, so the caller's container
    keeps its read position. Raises MediaUnreadable when no frame can be decoded.
    """
    return display_transform_of_stream(stream).rotation_cw_deg


def display_transform_of_stream(stream: av.video.stream.VideoStream) -> DisplayTransform:
    """Gives the display transform (rotation and mirroring) of a video stream."""
    name = stream.container.name
    if not isinstance(name, str) or not os.path.isfile(name):
        raise MediaUnreadable(f"{name!r}: the stream's container was not opened from a file path, "
                              "so its display matrix cannot be read without moving its position")
    try:
        with av.open(name, mode="r", metadata_errors="replace") as container:
            own = _same_stream(container, stream.index)
            # Only the first picture is wanted, and keyframes carry the matrix too.
            own.codec_context.skip_frame = "NONKEY"
            for count, packet in enumerate(container.demux(own)):
                for frame in packet.decode():
                    return transform_of_frame(frame)
                if count >= _MAX_PACKETS_FOR_FIRST_FRAME:
                    break
            for frame in own.codec_context.decode(None):  # drain: a one-frame file flushes late
                return transform_of_frame(frame)
    except (av.error.FFmpegError, OSError) as ex:
        raise MediaUnreadable(f"{os.path.basename(name)}: cannot decode a first video frame to read "
                              f"its display rotation ({ex})") from ex
    raise MediaUnreadable(f"{os.path.basename(name)}: no video frame could be decoded, so its display "
                          "rotation is unknown; the file may be truncated")


def _same_stream(container: av.container.InputContainer, index: int) -> av.video.stream.VideoStream:
    stream = container.streams[index]
    if stream.type != "video":
        raise MediaUnreadable(f"{container.name}: stream {index} is not video")
    return cast("av.video.stream.VideoStream", stream)  # PyAV wraps every "video" stream in a VideoStream


def apply_display_transform(image: NDArray[np.uint8], transform: DisplayTransform) -> NDArray[np.uint8]:
    """Gives `image` (H x W x C, any channel order) as a player shows it, C-contiguous.

    Matches FFmpeg's autorotate: the picture is turned clockwise by `rotation_cw_deg`, and a mirror is
    applied after the turn.
    """
    if transform.is_identity:
        return image
    # np.rot90 turns counter-clockwise for positive k.
    turned = np.rot90(image, k=-(transform.rotation_cw_deg // 90) % 4, axes=(0, 1))
    if transform.hflip:
        turned = turned[:, ::-1]
    return np.ascontiguousarray(turned)


def rotate_image(image: NDArray[np.uint8], rotation_cw_deg: int, *, hflip: bool = False) -> NDArray[np.uint8]:
    """Gives `image` (H x W x C) turned clockwise by `rotation_cw_deg` (a multiple of 90), then mirrored (`hflip`)."""
    if rotation_cw_deg % 90:
        raise ParameterError(f"rotation_cw_deg must be a multiple of 90, not {rotation_cw_deg}")
    return apply_display_transform(image, DisplayTransform(rotation_cw_deg=rotation_cw_deg % 360, hflip=hflip,
                                                           has_matrix=True))


def _clockwise(counter_clockwise_deg: int) -> int:
    """Gives a counter-clockwise angle (ffprobe's, PyAV's) as the clockwise turn in [0, 360)."""
    return -counter_clockwise_deg % 360
