"""A still checked at full size: is it the same picture as another still, or a frame of a video?

On 16-pixel thumbnails another moment of a scene where nothing moves (an object added, moved or
gone at another hour of a fixed camera) hashes as the same picture, and a still's moment in such
footage cannot be singled out (`still_in_doubt`). `unexplained_change` reads the two files in
colour at full size, registers them, finds where they differ more than coding and resampling
make them, sets aside what an overlay explains near the picture's edge (a banner, a box, a line
of text), and gives the share of the picture left: a copy leaves none, another moment the shape
of what changed. verify.check_at_full_size acts on it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from forensics.dedup.align import PairMatch, orient
from forensics.dedup.evidence import MOMENT_RATIO
from forensics.dedup.last_used import LastUsed
from forensics.dedup.registration import NEIGHBOUR_S, SIDE_PX, registration
from forensics.dedup.sampling import frames_at, still_in_colour
from forensics.errors import MediaUnreadable
from forensics.media.video.frames import read_video_index, stream_duration_s

log = logging.getLogger(__name__)

# A still in doubt (still_in_doubt) is kept as one picture only when, at full size, what differs
# between it and its frame (or the other still) is coding noise or an overlay: set on the tuning half
# of benchmarks/bench_dedup.py (see its README), where copies leave none (8 of 358: 0.2-2.5%, a logo
# box over a patch of like colour, two overlays at once) and other moments of a still room 0.42% or more.
# The shapes of overlays below were set there and against an adversarial pass of real photographs.
MAX_UNEXPLAINED_SHARE = 0.002
_CHANGE_LEVEL = 12.0  # a pixel differs where its distance (CIELAB, L in grey levels) is over this ...
_CHANGE_NOISE = 4.0  # ... and this many times the picture's median distance (coding noise) ...
_CHANGE_EDGE = 0.5  # ... plus this share of the gradient both pictures have there (resampling at edges)
_CHANGE_BLUR_PX = 1.5
_COLOURLESS_LEVELS = 3.0  # a picture whose a and b (CIELAB) spread less than this has no colour (`_in_grey`)
_CHANGE_REACH_PX = 1  # a pixel is compared with the other picture's this far around it (registration error)
_MIN_PATCH_SHARE = 0.0005  # of the picture: a differing patch smaller than this is noise
_BANNER_SHARE = 0.8  # a row (column) that differs over this much of its length is a banner's
_BOX_CORNERS = 0.5  # a patch whose corners are each this full ...
_BOX_SIDES = 0.8  # ... or each of whose sides is this straight is a box laid over the picture (`_box`)
_BOX_INSET_PX = 1
_CAPTION_ASPECT = 4.0  # a patch this many times as wide as high ...
_CAPTION_HEIGHT = 0.1  # ... and no higher than this share of the picture is a line of text laid over it
_OVERLAY_ZONE = 0.25  # overlays are set aside only this near the picture's edge (_unexplained_share) ...
_COVER_TEXTURE = 0.8  # ... where one picture's texture is at most this share of the other's (`_covered`) ...
_FLAT_LEVELS = 3.0  # ... or both are this flat (grey levels a pixel): a logo over the sky
_WORD_GAP = 0.03  # of the picture's width: patches closer than this side by side are one (the words of a line)
_MARGIN_LEVELS = 3.0  # an edge row or column whose grey levels spread less than this is a border, not picture
_MIN_OVERLAP = 0.3  # of a's picture: less than this registered is not a comparison
_SPARSE = 7  # quantiles of a picture's pixels taken over every this many
MOMENT_STEP_S = 0.04  # a video's frames this far apart (every frame at 25 fps) are searched for a still's moment ...
_MOMENTS_SEARCHED = 150  # ... or this many, spread over a longer one (at 320 pixels, about 26 MB)
_MOMENTS_COMPARED = 3  # of those, the pairs that look most alike are compared in full
_INSTANT_REACH_S = 0.16  # ... with, in a longer one, every frame this near the thumbnails' instant ...
_MOMENTS_REFINED = 2  # ... and near the moments that rank closest, this many
_INSTANTS_KEPT = 8  # stretches about an instant kept (Moments.near) ...
_VIDEOS_KEPT = 2  # ... videos' moments ...
_PHOTOS_KEPT = 64  # ... and photos
_ROUGH_CAP_LEVELS = 20.0
_ROUGH_SPARSE = 29  # moments are ranked on every this many pixels


def still_in_doubt(match: PairMatch) -> bool:
    # A still's moment singled out by its fit (the rest of the video fits clearly worse, lined up or
    # not) is a frame of that video; one that fits every moment alike (nothing moves), or two photos,
    # may be another moment of a still scene, which 16-pixel thumbnails cannot see (an object moved,
    # added or gone). A weak match is not worth the check: it is not listed or grouped.
    if match.kind != "image" or match.confidence == "weak":
        return False
    photos = match.a_start_s is None and match.b_start_s is None
    return photos or match.moment_ratio is None or match.moment_ratio < MOMENT_RATIO


def unexplained_change(path_a: Path, path_b: Path, segment: tuple[float, float, float, float], orientation: int,
                       *, moments: Moments | None = None,
                       photos: Photos | None = None) -> float | None:
    """Gives the share of the picture (0-1) in which a still and a frame (or two stills) differ other than a copy can.

    `segment` holds the instant of each in its file (NaN: the file is a photo); `orientation`
    turns b's picture as the hashes matched it. b is registered onto a (ORB features, RANSAC: a
    crop, scale or border undone; borders of one tone left out) and brought to a's brightness
    and contrast, fitted where the two agree best. A pixel differs where its distance to b's
    picture, the nearest within _CHANGE_REACH_PX and smoothed, passes coding noise and what
    resampling leaves at edges (`_differing`; in lightness only when either has no colour: a
    copy in grey or sepia). Near the picture's edge, where overlays go, a banner, a line of text
    or a box laid over the picture is set aside (`_unexplained_share`): overlays a copy may
    carry. What is left, in patches of _MIN_PATCH_SHARE or more, is the answer: another
    moment of a still scene (an object added, moved or gone) differs in the shape of what
    changed. A video's moment is searched: the thumbnails of a scene where nothing moves fit
    every moment alike, so its frames (`moments`: spread over it, in colour) are ranked by how
    alike they look and the closest compared in full; first those about the thumbnails' instant,
    where a copy's moment is: one that is this picture settles it, unread the rest. None when it
    cannot tell: a file cannot be read, or the pictures cannot be registered.
    """
    spread = moments or Moments()
    look = photos or Photos()

    def pictures(path: Path, at_s: float, near: bool
                 ) -> tuple[NDArray[np.uint8], NDArray[np.uint8], int, NDArray[np.float64]]:
        """Gives the pictures (N x H x W x 3) of a photo (one) or a video (its moments, or with `near` every frame
        near the instant), in grey too (N x H x W), which is at the instant, and their times (empty for a photo)."""
        if np.isnan(at_s):
            photo, grey = look(path)
            return photo[None], grey[None], 0, np.zeros(0)
        return spread.near(path, at_s, _INSTANT_REACH_S) if near else spread(path, at_s)

    # A video is first searched about the thumbnails' instant alone (a copy's moment is there, or close): a frame
    # there that is this picture settles it, and the rest of the video need not be read.
    unread = any(not np.isnan(at_s) and not spread.holds(path)
                 for path, at_s in ((path_a, segment[0]), (path_b, segment[2])))
    for near in (True, False) if unread else (False,):
        try:
            found = _compared_in_full(pictures(path_a, segment[0], near), pictures(path_b, segment[2], near),
                                      (path_a, path_b), segment, orientation, spread, refine=not near)
        except (MediaUnreadable, OSError, ValueError) as ex:
            log.info("full-size pictures of %s or %s could not be read (%s)", path_a, path_b, ex)
            return None
        if (found is not None and found <= MAX_UNEXPLAINED_SHARE) or (found is None and not near):
            return found
    return found


def _compared_in_full(one: tuple[NDArray[np.uint8], NDArray[np.uint8], int, NDArray[np.float64]],
                      other: tuple[NDArray[np.uint8], NDArray[np.uint8], int, NDArray[np.float64]],
                      paths: tuple[Path, Path], segment: tuple[float, float, float, float], orientation: int,
                      spread: Moments, *, refine: bool) -> float | None:
    """Gives unexplained_change of two files' pictures (`Moments` or photos); with `refine`, a longer video's
    frames about the thumbnails' instant and the closest moments are searched too."""
    path_a, path_b = paths
    (left, grey_l, at_l, times_l), (right, grey_r, at_r, times_r) = one, other
    right = np.moveaxis(orient(np.moveaxis(right, -1, 1), orientation), 1, -1)  # turned as the hashes matched it
    grey_r = orient(grey_r, orientation)
    transform = registration(grey_l[at_l:at_l + 1].astype(np.float32), np.ascontiguousarray(grey_r[at_r:at_r + 1]))
    if transform is None:
        return None
    height, width = left.shape[1:3]
    inside = cv2.warpAffine(_content(grey_r[at_r]), transform, (width, height)) == 255
    inside &= _content(grey_l[at_l]) == 255
    inside = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    if inside.sum() < _MIN_OVERLAP * inside.size:
        return None

    def moved(picture: NDArray[np.uint8]) -> NDArray[np.uint8]:
        return cast("NDArray[np.uint8]", cv2.warpAffine(np.ascontiguousarray(picture), transform, (width, height),
                                                          flags=cv2.INTER_LINEAR))

    labs: dict[int, NDArray[np.float32]] = {}  # left's pictures in CIELAB, by row (rows are only ever appended)

    def lab_of_left(row: int) -> NDArray[np.float32]:
        if row not in labs:
            labs[row] = _lab(left[row])
        return labs[row]

    def compared(rough: NDArray[np.float64], skip: set[int]) -> tuple[float | None, set[int]]:
        """Gives the least share of the closest pairs (by `rough`) not compared yet, and those now compared."""
        best, done = None, set(skip)
        for n in (int(n) for n in np.argsort(rough, axis=None, kind="stable")):
            if n in done:
                continue
            if len(done) - len(skip) >= _MOMENTS_COMPARED:
                break
            done.add(n)
            share = _unexplained_share(*_differing(lab_of_left(n // len(right)), _lab(moved(right[n % len(right)])),
                                                   inside), inside)
            best = share if best is None else min(best, share)
            if best <= MAX_UNEXPLAINED_SHARE:
                break  # a moment that is this picture: the rest need not be compared
        return best, done

    # Every pair of pictures (a still against each moment of a video) is ranked by how alike their
    # lightness looks, and the closest are compared in full.
    rough = _rough_fits(grey_l, grey_r, inside, transform)
    best, done = compared(rough, set())
    if (best is not None and best <= MAX_UNEXPLAINED_SHARE) or not refine:
        return best
    # A longer video's moments are spread out: every frame near the thumbnails' instant (known to a
    # sampling step), and about the two closest moments, is ranked too.
    for video, times, at_s, on_left in ((path_a, times_l, segment[0], True), (path_b, times_r, segment[2], False)):
        step = float(np.median(np.diff(times))) if times.size > 1 else 0.0
        if step <= MOMENT_STEP_S + 1e-6:
            continue
        fits = rough.min(axis=1 if on_left else 0)
        wanted = [(at_s, _INSTANT_REACH_S)] + [(float(times[n]), step)
                                               for n in np.argsort(fits, kind="stable")[:_MOMENTS_REFINED]]
        for around_s, reach_s in wanted:
            extra, extra_grey, _at, _times = spread.near(video, around_s, reach_s)
            if extra.shape[1:] != (left if on_left else right).shape[1:]:
                continue
            if on_left:
                more = _rough_fits(extra_grey, grey_r, inside, transform)  # rows: numbers stay
                left, grey_l = np.concatenate([left, extra]), np.concatenate([grey_l, extra_grey])
                rough = np.concatenate([rough, more])
            else:
                extra = np.moveaxis(orient(np.moveaxis(extra, -1, 1), orientation), 1, -1)
                extra_grey = orient(extra_grey, orientation)
                more = _rough_fits(grey_l, extra_grey, inside, transform)
                # columns are appended: a pair's number (row x columns + column) moves with the width
                done = {(n // len(right)) * (len(right) + len(extra)) + n % len(right) for n in done}
                right, grey_r = np.concatenate([right, extra]), np.concatenate([grey_r, extra_grey])
                rough = np.concatenate([rough, more], axis=1)
    if len(rough.flat) > len(done):
        more_best, done = compared(rough, done)
        if more_best is not None:
            best = more_best if best is None else min(best, more_best)
    return best


def _rough_fits(left: NDArray[np.uint8], right: NDArray[np.uint8], inside: NDArray[np.bool_],
                transform: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gives how unlike each of left's grey pictures (N x H x W) is to each of right's (M x h x w, registered
    onto left's by `transform`): the mean difference, each pixel's capped at _ROUGH_CAP_LEVELS, once the typical
    difference is taken off (so a banner or a logo on one adds the same to every frame it is compared with, and
    a change of exposure nothing). Taken over every _ROUGH_SPARSE-th pixel of `inside`, right's nearest to it."""
    where = np.flatnonzero(inside)[::_ROUGH_SPARSE]
    ys, xs = np.divmod(where, inside.shape[1])
    back = cv2.invertAffineTransform(transform)  # left's pixel -> right's
    xs_r = np.clip(np.rint(back[0, 0] * xs + back[0, 1] * ys + back[0, 2]), 0, right.shape[2] - 1).astype(np.intp)
    ys_r = np.clip(np.rint(back[1, 0] * xs + back[1, 1] * ys + back[1, 2]), 0, right.shape[1] - 1).astype(np.intp)
    ours = left.reshape(left.shape[0], -1)[:, where].astype(np.float32)
    theirs = right[:, ys_r, xs_r].astype(np.float32)
    difference = ours[:, None, :] - theirs[None, :, :]
    difference -= np.median(difference, axis=-1, keepdims=True)
    return np.minimum(np.abs(difference), _ROUGH_CAP_LEVELS).mean(axis=-1)


def _content(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Gives 255 where a grey picture (H x W) shows something, 0 on its borders: bars or a canvas of one tone."""
    grey = grey.astype(np.float32)
    rows, columns = grey.std(axis=1) >= _MARGIN_LEVELS, grey.std(axis=0) >= _MARGIN_LEVELS
    shown = np.zeros(grey.shape, np.uint8)
    if rows.any() and columns.any():
        top, bottom = int(np.argmax(rows)), len(rows) - int(np.argmax(rows[::-1]))
        left, right = int(np.argmax(columns)), len(columns) - int(np.argmax(columns[::-1]))
        shown[top:bottom, left:right] = 255
    return shown


def _area_of(x: int, y: int, across: int, down: int, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """Gives the box (x, y, across, down) of a picture of `shape` as a mask."""
    area = np.zeros(shape[:2], bool)
    area[y:y + down, x:x + across] = True
    return area


def _covered(where: NDArray[np.bool_], textures: tuple[NDArray[np.float32], NDArray[np.float32]]) -> bool:
    """Tells whether one of two pictures is flat over the area an overlay would cover (`where`: a banner's rows,
    a box), as a graphic laid over the other is: its texture there (median gradient, over the whole area: where
    the two differ is mostly a graphic's letters) at most _COVER_TEXTURE of the other's, or both all but flat."""
    flatter, busier = sorted(float(np.median(texture[where])) for texture in textures)
    return flatter <= _COVER_TEXTURE * busier or busier <= _FLAT_LEVELS


def _box(shape: NDArray[np.uint8]) -> bool:
    """Tells whether a patch (1 inside, 0 out) is a rectangle, not a blob: each side of its bounding box, taken in
    by _BOX_INSET_PX (the smoothing rounds a box's corners and bulges its sides a pixel), is almost all patch; a
    disc's, or a disc cut by the picture's edge, is not on its round sides."""
    shape = cast("NDArray[np.uint8]", cv2.morphologyEx(np.pad(shape, 1), cv2.MORPH_OPEN,
                                                       np.ones((3, 3), np.uint8)))  # burrs a pixel wide off
    rows, columns = np.flatnonzero(shape.any(axis=1)), np.flatnonzero(shape.any(axis=0))
    if rows.size < 3 or columns.size < 3:
        return True  # nothing but burrs
    shape = shape[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    side = max(2, round(0.25 * min(shape.shape)))
    if min(float(shape[:side, :side].mean()), float(shape[:side, -side:].mean()), float(shape[-side:, :side].mean()),
           float(shape[-side:, -side:].mean())) >= _BOX_CORNERS:
        return True
    inset = _BOX_INSET_PX
    inner = shape[inset:shape.shape[0] - inset, inset:shape.shape[1] - inset]
    if inner.size == 0:
        return True
    return min(float(inner[0].mean()), float(inner[-1].mean()), float(inner[:, 0].mean()),
               float(inner[:, -1].mean())) >= _BOX_SIDES


def _grey(pictures: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Gives RGB pictures (N x H x W x 3) in grey (N x H x W)."""
    return np.stack([cv2.cvtColor(np.ascontiguousarray(p), cv2.COLOR_RGB2GRAY) for p in pictures])


def _lab(picture: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Gives an RGB picture (H x W x 3) in CIELAB, L in grey levels (0-255) and a, b about 128."""
    return cv2.cvtColor(np.ascontiguousarray(picture), cv2.COLOR_RGB2LAB).astype(np.float32)


def _differing(left: NDArray[np.float32], right: NDArray[np.float32], inside: NDArray[np.bool_]
               ) -> tuple[NDArray[np.bool_], tuple[NDArray[np.float32], NDArray[np.float32]]]:
    """Gives where two registered pictures (H x W x 3, `_lab`) differ more than coding and resampling make them,
    and the texture of each (its lightness's smoothed gradient)."""
    planes_l = [np.ascontiguousarray(left[..., c]) for c in range(left.shape[-1])]
    planes_r = [np.ascontiguousarray(right[..., c]) for c in range(right.shape[-1])]
    # Brightness and contrast (and a colour cast) fitted where the two agree best, so that a logo or
    # a changed object does not pull the fit: three rounds, each on the 70% of pixels nearest (of a
    # sample of the picture: two numbers a channel need no more).
    where = np.flatnonzero(inside)[::_SPARSE]
    samples_l = [plane.reshape(-1)[where].astype(np.float64) for plane in planes_l]
    samples_r = [plane.reshape(-1)[where].astype(np.float64) for plane in planes_r]
    if _in_grey(samples_l, samples_r, _interior(inside)[inside][::_SPARSE]):
        # A copy in grey carries no colour to compare: lightness only.
        planes_l, planes_r, samples_l, samples_r = planes_l[:1], planes_r[:1], samples_l[:1], samples_r[:1]
    use = np.ones(where.size, bool)
    fit: list[tuple[float, float]] = []
    for _round in range(3):
        fit = []
        for channel, (x_all, y_all) in enumerate(zip(samples_r, samples_l)):
            x, y = x_all[use], y_all[use]
            gain = 1.0  # colour: a cast only (fitting its strength too, a logo's red pulls it: copies lost on tuning)
            if channel == 0:
                centred = x - x.mean()
                gain = float(np.dot(centred, y - y.mean()) / (np.dot(centred, centred) + 1e-9))
            fit.append((gain, float(y.mean() - gain * x.mean())))
        distance = np.sqrt(sum((y_all - (gain * x_all + offset)) ** 2
                               for (gain, offset), x_all, y_all in zip(fit, samples_r, samples_l)))
        use = distance <= np.quantile(distance, 0.7)
    fitted = [(np.float32(gain) * plane + np.float32(offset)).astype(np.float32)
              for (gain, offset), plane in zip(fit, planes_r)]
    reach = _CHANGE_REACH_PX
    height, width = inside.shape
    padded = [cast("NDArray[np.float32]", cv2.copyMakeBorder(plane, reach, reach, reach, reach, cv2.BORDER_REPLICATE))
              for plane in fitted]
    nearest = _distance(planes_l, fitted, squared=True)
    for dy in range(2 * reach + 1):
        for dx in range(2 * reach + 1):
            if (dy, dx) != (reach, reach):  # unmoved: `nearest` already
                moved = [plane[dy:dy + height, dx:dx + width] for plane in padded]
                nearest = np.minimum(nearest, _distance(planes_l, moved, squared=True))
    residual = cv2.GaussianBlur(np.sqrt(nearest), (0, 0), _CHANGE_BLUR_PX)
    textures = _gradient(planes_l[0]), _gradient(fitted[0])
    edge = np.minimum(*textures)
    noise = float(np.median(residual[inside][::_SPARSE]))
    return (residual > max(_CHANGE_LEVEL, _CHANGE_NOISE * noise) + _CHANGE_EDGE * edge) & inside, textures


def _in_grey(left: list[NDArray[np.float64]], right: list[NDArray[np.float64]], interior: NDArray[np.bool_]) -> bool:
    """Tells whether one picture is a copy in grey of the other: no colour in it (its CIELAB a and b spread
    under _COLOURLESS_LEVELS), where the other has colour away from the edges (not just an overlay's: a
    coloured logo on a copy of a grey scene is a change of colour to compare, and set aside as an overlay)."""
    def coloured(samples: list[NDArray[np.float64]], where: NDArray[np.bool_] | slice) -> bool:
        return max(float(samples[1][where].std()), float(samples[2][where].std())) >= _COLOURLESS_LEVELS

    whole = slice(None)
    if not interior.any():
        return not (coloured(left, whole) and coloured(right, whole))
    return ((not coloured(left, whole) and coloured(right, interior))
            or (not coloured(right, whole) and coloured(left, interior)))


def _interior(inside: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Gives the part of the compared picture (`inside`) away from its edges: within _OVERLAY_ZONE of none."""
    rows, columns = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    interior = np.zeros_like(inside)
    if rows.size and columns.size:
        zone_y = int(_OVERLAY_ZONE * (rows[-1] + 1 - rows[0]))
        zone_x = int(_OVERLAY_ZONE * (columns[-1] + 1 - columns[0]))
        interior[rows[0] + zone_y:rows[-1] + 1 - zone_y, columns[0] + zone_x:columns[-1] + 1 - zone_x] = True
    return interior & inside


def _distance(left: list[NDArray[np.float32]], right: list[NDArray[np.float32]], *,
              squared: bool = False) -> NDArray[np.float32]:
    """Gives the distance, pixel by pixel, of two pictures given as planes (one per channel)."""
    total = np.zeros_like(left[0])
    for plane_l, plane_r in zip(left, right):
        difference = plane_l - plane_r
        total += difference * difference
    return total if squared else np.sqrt(total)


def _gradient(picture: NDArray[np.float32]) -> NDArray[np.float32]:
    """Gives the smoothed gradient magnitude of a picture, in its levels per pixel."""
    across = cv2.Sobel(picture, cv2.CV_32F, 1, 0, ksize=3)
    down = cv2.Sobel(picture, cv2.CV_32F, 0, 1, ksize=3)
    return cast("NDArray[np.float32]", cv2.GaussianBlur(np.sqrt(across * across + down * down) / 8, (0, 0),
                                                        _CHANGE_BLUR_PX))


def _unexplained_share(changed: NDArray[np.bool_], textures: tuple[NDArray[np.float32], NDArray[np.float32]],
                       inside: NDArray[np.bool_]) -> float:
    """Gives the share of `inside` that differs (`changed`) in patches no overlay explains (unexplained_change).

    Overlays are where platforms and editors put them, in the outer _OVERLAY_ZONE of the picture
    (banners and captions at its top or bottom, logos in its corners, side bars): there, a wide low
    patch is a line of text, and rows or columns that differ almost whole (a banner's) or a patch
    with filled corners or straight sides (a box's) are an overlay when one picture is flat there
    (`_covered`: a graphic hides the scene's texture; a shadow, a tram, a poster do not).
    Elsewhere, every change counts.
    """
    changed = changed.copy()
    height, width = changed.shape
    rows, columns = inside.sum(axis=1), inside.sum(axis=0)
    shown_rows, shown_columns = np.flatnonzero(rows), np.flatnonzero(columns)
    if shown_rows.size == 0 or shown_columns.size == 0:
        return 0.0
    top, bottom = int(shown_rows[0]), int(shown_rows[-1]) + 1
    left, right = int(shown_columns[0]), int(shown_columns[-1]) + 1
    zone_y, zone_x = _OVERLAY_ZONE * (bottom - top), _OVERLAY_ZONE * (right - left)

    def at_the_edge(x: int, y: int, across: int, down: int) -> bool:
        return (y + down <= top + zone_y or y >= bottom - zone_y
                or x + across <= left + zone_x or x >= right - zone_x)

    row_zone = (np.arange(height) < top + zone_y) | (np.arange(height) >= bottom - zone_y)
    column_zone = (np.arange(width) < left + zone_x) | (np.arange(width) >= right - zone_x)
    banner_rows = (changed.sum(axis=1) >= _BANNER_SHARE * np.maximum(rows, 1)) & (rows > width / 2) & row_zone
    banner_columns = ((changed.sum(axis=0) >= _BANNER_SHARE * np.maximum(columns, 1)) & (columns > height / 2)
                      & column_zone)
    for banner in (banner_rows[:, None] & inside, banner_columns[None, :] & inside):
        if (banner & changed).any() and _covered(banner, textures):
            changed &= ~banner
    # A line of text laid over a copy (a caption, a subtitle) is a wide, low patch once its words are
    # joined: gaps narrower than _WORD_GAP of the width closed.
    gap = max(3, round(_WORD_GAP * width))
    joined = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    for patch in range(1, count):
        x, y, across, down, _area = (int(v) for v in stats[patch])
        if across >= _CAPTION_ASPECT * down and down <= _CAPTION_HEIGHT * height and at_the_edge(x, y, across, down):
            changed[y:y + down, x:x + across] &= labels[y:y + down, x:x + across] != patch
    count, labels, stats, _ = cv2.connectedComponentsWithStats(changed.astype(np.uint8), connectivity=8)
    total = float(inside.sum())
    unexplained = 0
    for patch in range(1, count):
        x, y, across, down, area = (int(v) for v in stats[patch])
        if area < _MIN_PATCH_SHARE * total:
            continue
        if at_the_edge(x, y, across, down):
            shape = (labels[y:y + down, x:x + across] == patch).astype(np.uint8)
            outlines, _ = cv2.findContours(shape, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            filled = np.zeros_like(shape)
            cv2.drawContours(filled, outlines, -1, 1, -1)  # holes (a logo's letters) filled
            if _box(filled) and _covered(_area_of(x, y, across, down, changed.shape), textures):
                continue
        unexplained += area
    return unexplained / total


def _moments_of(path: Path) -> tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.uint8]]:
    """Gives (times, RGB pictures, grey pictures) of a video's frames every MOMENT_STEP_S, or _MOMENTS_SEARCHED
    spread over a longer one: where a still of it may have been taken."""
    length = stream_duration_s(read_video_index(path)[1])
    count = min(_MOMENTS_SEARCHED, max(1, int(length / MOMENT_STEP_S)))
    times, pictures = frames_at(path, np.linspace(0.0, max(0.0, length - 0.001), count), size_px=SIDE_PX, colour=True)
    return times, pictures, _grey(pictures)


class Moments:
    """Gives a video's moments to search for a still's (`_moments_of`, read once for all the stills checked
    against it: they come together), and (`near`) every frame near a time (read once for all the copies of
    one still)."""

    def __init__(self) -> None:
        self._held: LastUsed[Path, tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.uint8]]] = \
            LastUsed(_VIDEOS_KEPT)
        self._near: LastUsed[tuple[Path, float, float], tuple[NDArray[np.float64], NDArray[np.uint8],
                                                              NDArray[np.uint8]]] = LastUsed(_INSTANTS_KEPT)

    def __call__(self, path: Path, at_s: float) -> tuple[NDArray[np.uint8], NDArray[np.uint8], int,
                                                        NDArray[np.float64]]:
        """Gives (RGB pictures, grey pictures, which is nearest the instant `at_s`, their times)."""
        times, found, grey = self._held.get(path, lambda: _moments_of(path))
        return found, grey, int(np.argmin(np.abs(times - at_s))), times

    def near(self, path: Path, at_s: float, reach_s: float) -> tuple[NDArray[np.uint8], NDArray[np.uint8], int,
                                                                      NDArray[np.float64]]:
        """Gives (RGB pictures, grey pictures, which is nearest the instant `at_s`, their times) of every frame
        within `reach_s` of `at_s`."""

        def read() -> tuple[NDArray[np.float64], NDArray[np.uint8], NDArray[np.uint8]]:
            wanted = np.clip(at_s + np.arange(-reach_s, reach_s + 1e-9, NEIGHBOUR_S), 0.0, None)
            times, found = frames_at(path, wanted, size_px=SIDE_PX, colour=True)
            return times, found, _grey(found)

        times, found, grey = self._near.get((path, round(at_s, 3), round(reach_s, 3)), read)
        return found, grey, int(np.argmin(np.abs(times - at_s))), times

    def holds(self, path: Path) -> bool:
        """Whether the video's moments are read already."""
        return path in self._held


class Photos:
    """Reads photos at full size, in colour and in grey, each once for all the pairs that come together (the
    last _PHOTOS_KEPT read are kept: a photo at 320 pixels is about 0.2 MB, a collection may hold thousands)."""

    def __init__(self) -> None:
        self._held: LastUsed[Path, tuple[NDArray[np.uint8], NDArray[np.uint8]]] = LastUsed(_PHOTOS_KEPT)

    def __call__(self, path: Path) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
        """Gives (RGB picture, grey picture) of the photo at `path`."""

        def read() -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
            try:
                picture = still_in_colour(path, size_px=SIDE_PX)
            except MediaUnreadable:  # what Pillow will not read whole, FFmpeg may, as the hashes read it
                picture = frames_at(path, np.zeros(1), size_px=SIDE_PX, colour=True)[1][0]
            return picture, _grey(picture[None])[0]

        return self._held.get(path, read)
