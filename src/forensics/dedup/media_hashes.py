"""The perceptual hashes of one photo or video: `hash_media()` and the MediaHashes value it gives.

Every sampled frame (sampling.py) is trimmed of its borders once per file (normalise.py), and
each of its SCALES regions is hashed in all eight orientations (hashes.py). A 16 x 16 grey
thumbnail of each region is kept too: alignment (align.py) uses them to check that two
videos move alike, which hashes of single frames cannot tell.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from forensics.dedup.hashes import ORIENTATION_COUNT, PICTURE_SIDE, PerceptualHash, hash_pictures
from forensics.dedup.normalise import SCALES, ContentBox, content_box, hash_inputs, stretch_boxes
from forensics.dedup.sampling import Pictures, read_pictures
from forensics.errors import ParameterError
from forensics.progress import ProgressCallback

FORMAT_VERSION = 1
THUMB_SIDE = 16  # thumbnails are the 32 x 32 hash pictures averaged over 2 x 2 blocks
PHOTO_CROPS = (0.92,)  # centre crops of a photo hashed besides its whole picture (see hash_pictures_of)
MIN_DETAIL_GREY_LEVELS = 3.0  # std of a 32 x 32 picture below which it is flat, so not hashed
_MAGIC = b"FDMH"  # forensics dedup media hashes
_HEADER = struct.Struct("<4sII")  # magic, format version, JSON header length


@dataclass(frozen=True, slots=True, eq=False)
class MediaHashes:
    """The frame hashes of one photo or video, with the times they were taken at."""

    key: str  # the caller's label for the file: a path, a sha256, an evidence id
    kind: str  # "image" or "video"
    duration_s: float | None  # None for a photo
    times_s: NDArray[np.float64] = field(repr=False)  # N, seconds from the first frame; [0.0] for a photo
    hashes: NDArray[np.uint64] = field(repr=False)  # N x len(SCALES) x ORIENTATION_COUNT pHash values
    thumbs: NDArray[np.uint8] = field(repr=False)  # N x len(SCALES) x 16 x 16 grey, orientation as shown
    box: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)  # content (top, bottom, left, right) shares
    notes: tuple[str, ...] = ()  # what a report should say about how the frames were had

    @property
    def frame_count(self) -> int:
        return int(self.times_s.shape[0])

    def frame_hash(self, index: int, *, scale: int = 0, orientation: int = 0) -> PerceptualHash:
        """Gives one hash of frame `index`: by default the whole trimmed picture, as shown."""
        return PerceptualHash(int(self.hashes[index, scale, orientation]))

    def _header(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "duration_s": self.duration_s, "box": list(self.box),
                "notes": list(self.notes), "scales": list(SCALES), "format_version": FORMAT_VERSION}

    def to_json(self) -> dict[str, Any]:
        """Gives a JSON-able record: hashes as hex [frame][scale][orientation], thumbnails as base64."""
        return {**self._header(), "times_s": [round(float(t), 6) for t in self.times_s],
                "hashes": [[[str(PerceptualHash(int(v))) for v in scale] for scale in frame] for frame in self.hashes],
                "thumbs_b64": base64.b64encode(self.thumbs.tobytes()).decode("ascii")}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> MediaHashes:
        """Gives back the MediaHashes that `to_json` wrote; raises ParameterError if malformed."""
        try:
            _check_header(record)
            count = len(record["times_s"])
            hashes = np.array([[[int(v, 16) for v in scale] for scale in frame] for frame in record["hashes"]],
                              dtype=np.uint64).reshape(count, len(SCALES), ORIENTATION_COUNT)
            thumbs = np.frombuffer(base64.b64decode(record["thumbs_b64"]), dtype=np.uint8)
            return cls._from_parts(record, np.array(record["times_s"], dtype=np.float64), hashes, thumbs)
        except (KeyError, TypeError, ValueError) as ex:
            raise ParameterError(f"not a MediaHashes record ({ex})") from ex

    def to_bytes(self) -> bytes:
        """Gives a compact binary form: JSON header, then little-endian times, hashes and thumbnails."""
        header = json.dumps({**self._header(), "count": self.frame_count}, sort_keys=True,
                            separators=(",", ":")).encode()
        return (_HEADER.pack(_MAGIC, FORMAT_VERSION, len(header)) + header + self.times_s.astype("<f8").tobytes()
                + self.hashes.astype("<u8").tobytes() + self.thumbs.tobytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> MediaHashes:
        """Gives back the MediaHashes that `to_bytes` wrote; raises ParameterError if malformed."""
        try:
            magic, version, length = _HEADER.unpack_from(data)
            if magic != _MAGIC or version != FORMAT_VERSION:
                raise ValueError("wrong magic or format version")
            header = json.loads(data[_HEADER.size:_HEADER.size + length])
            _check_header(header)
            count = int(header["count"])
            body = memoryview(data)[_HEADER.size + length:]
            hash_bytes = 8 * count * len(SCALES) * ORIENTATION_COUNT
            times = np.frombuffer(body[:8 * count], dtype="<f8").astype(np.float64)
            hashes = np.frombuffer(body[8 * count:8 * count + hash_bytes], dtype="<u8").astype(np.uint64)
            thumbs = np.frombuffer(body[8 * count + hash_bytes:], dtype=np.uint8)
            return cls._from_parts(header, times, hashes.reshape(count, len(SCALES), ORIENTATION_COUNT), thumbs)
        except (struct.error, ValueError, KeyError, TypeError) as ex:
            raise ParameterError(f"not a MediaHashes blob ({ex})") from ex

    @classmethod
    def _from_parts(cls, header: dict[str, Any], times: NDArray[np.float64], hashes: NDArray[np.uint64],
                    thumbs: NDArray[np.uint8]) -> MediaHashes:
        thumbs = thumbs.reshape(times.shape[0], len(SCALES), THUMB_SIDE, THUMB_SIDE).copy()
        return cls(key=str(header["key"]), kind=str(header["kind"]), duration_s=header["duration_s"],
                   times_s=times, hashes=hashes, thumbs=thumbs, box=tuple(header["box"]),
                   notes=tuple(header["notes"]))


def _check_header(header: dict[str, Any]) -> None:
    if header.get("format_version") != FORMAT_VERSION or list(header.get("scales", ())) != list(SCALES):
        raise ValueError(f"made by another version (format {header.get('format_version')}, "
                         f"scales {header.get('scales')}); hash the file again")
    if header.get("kind") not in ("image", "video"):
        raise ValueError(f"unknown kind {header.get('kind')!r}")


def hash_media(path: Path, *, key: str | None = None, every_s: float = 0.25, size_px: int = 128,
               with_keyframes: bool = True, workers: int | None = None,
               progress: ProgressCallback | None = None) -> MediaHashes:
    """Gives the MediaHashes of a photo or video; `key` labels it (default: the path as given).

    `every_s` is the sampling interval of videos; `size_px` bounds the longer side of the
    decoded pictures (hashes need 32 x 32; more only refines the border trim).
    Raises MediaUnreadable for a file that is neither a decodable photo nor a video.
    """
    pictures = read_pictures(Path(path), every_s=every_s, size_px=size_px, with_keyframes=with_keyframes,
                             workers=workers, progress=progress)
    return hash_pictures_of(pictures, key=key if key is not None else str(path))


def hash_pictures_of(pictures: Pictures, *, key: str) -> MediaHashes:
    """Gives the MediaHashes of pictures already read (see sampling.read_pictures)."""
    grey = pictures.grey.astype(np.float32)
    box = content_box(grey)
    if pictures.kind == "video":
        boxes = stretch_boxes(grey, pictures.times_s, box)
        inputs = np.empty((grey.shape[0], len(SCALES), PICTURE_SIDE, PICTURE_SIDE), dtype=np.float32)
        for own in set(boxes):
            chosen = np.array([b == own for b in boxes])
            inputs[chosen] = hash_inputs(grey[chosen], own)
    else:
        inputs = hash_inputs(grey, box)  # N x S x 32 x 32
    times = pictures.times_s
    if pictures.kind == "image":
        height, width = grey.shape[1:]
        if box.trimmed:
            # One picture cannot tell a bar from a flat sky or wall (a video can: bars never change),
            # so a trimmed photo is also hashed whole, as a second frame at the same time.
            inputs = np.concatenate([inputs, hash_inputs(grey, ContentBox(0, height, 0, width, height, width))])
        # A photo is often passed on cropped by a few percent; its regions (SCALES) are far enough
        # apart that such a crop falls between them, so the centre at PHOTO_CROPS is hashed too.
        for crop in PHOTO_CROPS:
            dy, dx = round((box.bottom - box.top) * (1 - crop) / 2), round((box.right - box.left) * (1 - crop) / 2)
            inner = ContentBox(box.top + dy, box.bottom - dy, box.left + dx, box.right - dx, height, width)
            inputs = np.concatenate([inputs, hash_inputs(grey, inner)])
        times = np.zeros(inputs.shape[0])
    # A flat picture (a black frame, a blank test image, a fade) hashes to noise or to zero and
    # would match every other flat picture: it says nothing about the footage, so it is left out.
    detailed = inputs[:, 0].reshape(inputs.shape[0], -1).std(axis=1) >= MIN_DETAIL_GREY_LEVELS
    inputs, times = inputs[detailed], times[detailed]
    count = inputs.shape[0]
    hashes = hash_pictures(inputs.reshape(-1, PICTURE_SIDE, PICTURE_SIDE)).reshape(count, len(SCALES),
                                                                                  ORIENTATION_COUNT)
    half = PICTURE_SIDE // THUMB_SIDE
    thumbs = inputs.reshape(count, len(SCALES), THUMB_SIDE, half, THUMB_SIDE, half).mean(axis=(3, 5))
    # Four shares in, four rounded shares out.
    return MediaHashes(key=key, kind=pictures.kind, duration_s=pictures.duration_s, times_s=times,
                       hashes=hashes, thumbs=np.clip(np.rint(thumbs), 0, 255).astype(np.uint8),
                       box=cast("tuple[float, float, float, float]", tuple(round(v, 4) for v in box.shares())),
                       notes=pictures.notes)
