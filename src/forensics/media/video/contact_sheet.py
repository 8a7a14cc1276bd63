"""Contact sheets (a grid of frames, each with its time printed) and thumbnails, for reports."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.errors import ParameterError
from forensics.media.video.frames import Frame, FrameSet

_BACKGROUND = (24, 24, 24)
_TEXT = (235, 235, 235)
_MARGIN_PX = 6
_FONT = cv2.FONT_HERSHEY_SIMPLEX


MAX_SHEET_FRAMES = 240  # 60 rows of 4: beyond this a sheet shows frames spread evenly over the set


def contact_sheet(frames: FrameSet | Sequence[Frame], *, columns: int = 4,
                  thumb_width_px: int = 320) -> NDArray[np.uint8]:
    """Gives an RGB grid (H x W x 3, uint8) of the frames in order, each captioned with its time.

    The caption reads the time from the start of the video (as a player shows it), the frame
    number and its picture type, e.g. "01:02.345  #1870 I", and for the frame standing for a
    shot, the shot's number ("shot 3"). Portrait and landscape frames
    share a row: each is fitted, centred, into a cell as tall as the row's tallest. Of more
    than MAX_SHEET_FRAMES frames, that many spread evenly over them are shown.
    """
    start_s = frames.start_s if isinstance(frames, FrameSet) else 0.0
    shot_of = {shot.representative.pts: number for number, shot in
               enumerate(frames.shots if isinstance(frames, FrameSet) else (), start=1) if shot.representative}
    items = list(frames.frames if isinstance(frames, FrameSet) else frames)
    if not items:
        raise ParameterError("a contact sheet needs at least one frame")
    if len(items) > MAX_SHEET_FRAMES:
        # Thousands of frames (all-intra footage in keyframes mode) make a picture no one can read
        # and no encoder can write: the sheet shows frames spread evenly over the whole set.
        items = [items[i] for i in np.linspace(0, len(items) - 1, MAX_SHEET_FRAMES).round().astype(int)]
    if columns < 1 or thumb_width_px < 32:
        raise ParameterError("columns must be at least 1 and thumb_width_px at least 32")
    columns = min(columns, len(items))
    thumbs = [_fit(frame.image, thumb_width_px) for frame in items]
    scale = thumb_width_px / 320  # captions sized for a 320-pixel cell, grown or shrunk with it
    font_scale = max(0.35, 0.5 * scale)
    thickness = 1 if scale < 1.5 else 2
    (_, text_h), baseline = cv2.getTextSize("0:", _FONT, font_scale, thickness)
    caption_h = text_h + baseline + 2 * _MARGIN_PX
    rows = math.ceil(len(items) / columns)
    row_heights = [max(t.shape[0] for t in thumbs[r * columns:(r + 1) * columns]) + caption_h for r in range(rows)]
    cell_w = thumb_width_px + 2 * _MARGIN_PX
    sheet = np.full((sum(row_heights) + _MARGIN_PX, columns * cell_w + _MARGIN_PX, 3), _BACKGROUND, dtype=np.uint8)
    top = _MARGIN_PX
    for r in range(rows):
        for c, (frame, thumb) in enumerate(zip(items[r * columns:(r + 1) * columns],
                                               thumbs[r * columns:(r + 1) * columns])):
            left = _MARGIN_PX + c * cell_w
            picture_h = row_heights[r] - caption_h
            y = top + (picture_h - thumb.shape[0]) // 2
            x = left + (thumb_width_px - thumb.shape[1]) // 2
            sheet[y:y + thumb.shape[0], x:x + thumb.shape[1]] = thumb
            caption = f"{format_time(frame.pts_s - start_s)}  #{frame.index} {frame.frame_type}"
            if frame.pts in shot_of:
                caption += f"  shot {shot_of[frame.pts]}"
            cv2.putText(sheet, caption, (left, top + picture_h + _MARGIN_PX + text_h), _FONT, font_scale, _TEXT,
                        thickness, cv2.LINE_AA)
        top += row_heights[r]
    return sheet


def thumbnail(frameset: FrameSet, *, width_px: int = 320) -> NDArray[np.uint8]:
    """Gives one RGB picture (H x W x 3, uint8) standing for the video: its middle selected frame.

    With shots, the representative of the longest shot is used instead: the one most of the
    video looks like.
    """
    if width_px < 16:
        raise ParameterError(f"width_px must be at least 16, not {width_px}")
    with_pictures = [shot for shot in frameset.shots if shot.representative is not None]
    if with_pictures:
        longest = max(with_pictures, key=lambda shot: shot.end_s - shot.start_s)
        return _fit(longest.representative.image, width_px)  # type: ignore[union-attr]
    if not frameset.frames:
        raise ParameterError(f"{frameset.source.name}: no frames to make a thumbnail from")
    return _fit(frameset.frames[len(frameset.frames) // 2].image, width_px)


def format_time(seconds: float) -> str:
    """Gives seconds as [h:]mm:ss.mmm, the way players show a position."""
    sign = "-" if seconds < 0 else ""
    millis = round(abs(seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}.{millis:03d}"
    return f"{sign}{minutes:02d}:{secs:02d}.{millis:03d}"


def _fit(image: NDArray[np.uint8], width_px: int) -> NDArray[np.uint8]:
    """Gives `image` scaled to `width_px` wide, or as tall as it would be wide if it is portrait."""
    height, width = image.shape[:2]
    scale = width_px / max(width, height) if height > width else width_px / width
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return image
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cast("NDArray[np.uint8]", cv2.resize(image, size, interpolation=interpolation))  # keeps the dtype
