"""exifread's EXIF walker, reading its numbers from a memory map instead of one seek and read each.

exifread decodes every number of an IFD (tag, type, count, offset) and every element of an
array with a `seek` and a `read` on the file: a maker note of 30,000 bytes is 30,000 calls.
That was two thirds of probe's time on phone and camera JPEGs. `MappedExifHeader` gives the
same answers from a memory map of the file: single numbers by `struct.unpack_from`, whole
arrays by one unpack. Anything unusual (a position before the file, a range past its end, an
eight-byte integer, floats) goes to exifread's own code, so its results, warnings and
exceptions stay exactly what they were; a test compares both on every real file we have.
One exception: a maker note claiming over a million values more than the file holds gets
those it holds, where exifread would add a zero for each missing one, seconds per million.

The subclass leans on exifread's internals (`s2n`, `_process_field`, `dump_ifd`), so pyproject pins the
minor version it was checked against.
"""

from __future__ import annotations

import io
import mmap
import struct
from typing import Any, BinaryIO

import exifread
import numpy as np
from exifread.core.exif_header import ExifHeader, logger
from exifread.tags import DEFAULT_STOP_TAG, IGNORE_TAGS
from exifread.tags.exif import EXIF_TAGS
from exifread.tags.fields import FLOAT_FIELD_TYPES, RATIO_FIELD_TYPES, SIGNED_FIELD_TYPES
from exifread.tags.makernote import canon
from exifread.utils import Ratio

_CODES = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h", (4, False): "I", (4, True): "i"}
# Keyed by "little-endian?": exifread reads any endian mark other than "I" as big-endian (WebP gives "\x00").
_NUMBERS = {(little, length, signed): struct.Struct(("<" if little else ">") + code).unpack_from
            for little in (True, False) for (length, signed), code in _CODES.items()}

_MAX_MISSING_VALUES = 1_000_000
_VECTOR_ENTRIES = 64  # IFDs with more whole entries than this are sifted with numpy first
_ENTRY_DTYPES = {little: np.dtype([("tag", f"{'<' if little else '>'}u2"), ("type", f"{'<' if little else '>'}u2"),
                                   ("rest", "V8")]) for little in (True, False)}
_ENTRY_HEADS = {True: struct.Struct("<HH").unpack_from, False: struct.Struct(">HH").unpack_from}


def memory_of(fh: BinaryIO) -> Any:
    """A read-only buffer over the whole of `fh`, or None where there is none to be had."""
    if isinstance(fh, io.BytesIO):
        return fh.getvalue()  # a copy: a view would keep the caller from closing or resizing it
    try:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None  # not a file, an empty one, or one that cannot be mapped: exifread reads it itself


class MappedExifHeader(ExifHeader):
    """exifread's ExifHeader with `s2n` and `_process_field` answered from a memory map."""

    def __init__(self, file_handle: BinaryIO, *args: Any, **kwargs: Any) -> None:
        super().__init__(file_handle, *args, **kwargs)
        self._memory = memory_of(file_handle)

    def s2n(self, offset: int, length: int, signed: bool = False) -> int:
        memory = self._memory
        start = self.offset + offset  # self.offset and self.endian change while maker notes are read
        unpack = _NUMBERS.get((self.endian == "I", length, signed))
        if memory is None or unpack is None or start < 0 or start + length > len(memory):
            return super().s2n(offset, length, signed)
        return unpack(memory, start)[0]

    def dump_ifd(self, ifd: int, ifd_name: str, tag_dict: Any = None, relative: int = 0,
                 stop_tag: str = DEFAULT_STOP_TAG) -> None:
        """exifread's loop over an IFD's entries, skipping those it would skip, without reading them twice.

        A damaged IFD claims up to 65,535 entries: entries past the end of the file read as
        zeros, and entries whose field type is not one of EXIF's give no tag (in exifread's
        non-strict mode, the one probe uses); both are passed over here without the calls.
        """
        memory = self._memory
        if memory is None or self.strict or not isinstance(ifd, int) or self.offset + ifd < 0:
            return super().dump_ifd(ifd, ifd_name, tag_dict, relative, stop_tag)
        if tag_dict is None:
            tag_dict = EXIF_TAGS
        entries = self.s2n(ifd, 2)
        unpack_entry = _ENTRY_HEADS[self.endian == "I"]
        end = len(memory)
        for i in self._entries_worth_reading(ifd, entries, tag_dict, stop_tag):
            entry = ifd + 2 + 12 * i
            start = self.offset + entry
            if start >= end:
                break  # this and every later entry read as zeros: tag 0 of type 0, which gives no tag
            if start + 12 <= end:
                tag, field_type = unpack_entry(memory, start)
                skip = not 1 <= field_type <= 13
            else:
                tag, skip = self.s2n(entry, 2), False
            tag_entry = tag_dict.get(tag)
            tag_name = tag_entry[0] if tag_entry else f"Tag 0x{tag:04X}"
            if not skip and not (not self.detailed and tag in IGNORE_TAGS):
                # exifread annotates `relative` as bool yet passes 1 itself; only its truth is used.
                self._process_tag(ifd, ifd_name, tag_entry, entry, tag, tag_name,
                                  relative, stop_tag)  # type: ignore[arg-type]
            if tag_name == stop_tag:
                break

    def _entries_worth_reading(self, ifd: int, entries: int, tag_dict: Any, stop_tag: str) -> Any:
        """The indices of an IFD's entries that may give a tag or stop the walk, in order.

        A damaged maker note claims thousands of entries of no EXIF type (18,761 in two of
        exif-py's test photos, 20 ms of Python each); one vectorised pass drops those. Short
        IFDs, and walks with a stop tag that this IFD's names could reach, take every index.
        """
        first = self.offset + ifd + 2
        whole = min(entries, max(0, (len(self._memory) - first) // 12))
        if whole < _VECTOR_ENTRIES or stop_tag != DEFAULT_STOP_TAG or _names_stop_tag(tag_dict):
            return range(entries)
        heads = np.frombuffer(self._memory, dtype=_ENTRY_DTYPES[self.endian == "I"], count=whole, offset=first)
        kept = np.flatnonzero((heads["type"] >= 1) & (heads["type"] <= 13)).tolist()
        del heads  # let the memory map be closed afterwards
        # The entries past the whole ones: one cut short by the end of the file, then zeros.
        return kept + list(range(whole, entries))

    def _process_field(self, tag_name: str, count: int, field_type: Any, type_length: int, offset: int) -> list:
        memory = self._memory
        start = self.offset + offset
        if count >= 1000 and tag_name not in ("MakerNote", canon.CAMERA_INFO_TAG_NAME):
            return []  # exifread skips other long arrays
        if memory is None or start < 0 or field_type in FLOAT_FIELD_TYPES:
            return super()._process_field(tag_name, count, field_type, type_length, offset)
        signed = field_type in SIGNED_FIELD_TYPES
        endian = "<" if self.endian == "I" else ">"
        code = _CODES.get((type_length, signed))
        if start + count * type_length > len(memory):
            if count < 1000 or code is None:
                return super()._process_field(tag_name, count, field_type, type_length, offset)
            # A maker note running past the end of the file: exifread reads a zero for each
            # missing value, one call at a time (13-40 s for a damaged count of millions).
            held = max(0, (len(memory) - start) // type_length)
            if start + held * type_length < len(memory):
                logger.warning("Unexpected slice length: %d", len(memory) - start - held * type_length)
            values = list(struct.unpack_from(f"{endian}{held}{code}", memory, start)) if held else []
            missing = count - held
            return values + [0] * missing if missing <= _MAX_MISSING_VALUES else values
        if count < 1000 and field_type in RATIO_FIELD_TYPES:
            if type_length != 8:
                return super()._process_field(tag_name, count, field_type, type_length, offset)
            parts = struct.unpack_from(f"{endian}{2 * count}{'i' if signed else 'I'}", memory, start)
            return [Ratio(parts[i], parts[i + 1]) for i in range(0, 2 * count, 2)]
        if code is None:  # eight-byte integers: exifread's own path, whatever it makes of them
            return super()._process_field(tag_name, count, field_type, type_length, offset)
        return list(struct.unpack_from(f"{endian}{count}{code}", memory, start))


def _names_stop_tag(tag_dict: Any) -> bool:
    """Whether one of the names in `tag_dict` is exifread's default stop tag (none of its own tables has it)."""
    return any(entry and entry[0] == DEFAULT_STOP_TAG for entry in tag_dict.values())


def install() -> None:
    """Makes exifread.process_file walk EXIF with MappedExifHeader."""
    # process_file looks the class up in its module's globals; setattr, as replacing a class is what is meant.
    setattr(exifread, "ExifHeader", MappedExifHeader)  # noqa: B010 - mypy refuses `exifread.ExifHeader = ...`
