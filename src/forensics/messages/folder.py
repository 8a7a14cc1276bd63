"""The files of a scanned folder as an export sees them: names an export writes, resolved without touching disk.

A name in an export is evidence too: it may be absolute, climb out with `..`, hold a NUL, or name
a link. It is resolved against the list of entries the walk made (never by opening it), so
nothing outside the folder scanned is looked at and no link is followed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from forensics.messages.record import MediaRef, MediaState


@dataclass(frozen=True, slots=True)
class ExportFolder:
    """The folder an export file sits in, and every entry the walk found under the folder scanned."""

    folder: str  # relative to the folder scanned, "" for the folder itself
    entries: Mapping[str, str | None]  # relative path -> None for a regular file, else why it is not read

    def resolve(self, named: str) -> tuple[str | None, str | None]:
        """Gives (the path relative to the folder scanned, None) for a name inside it, or (None, why not)."""
        if not named or "\x00" in named:
            return None, "an empty name, or one holding NUL"
        name = named.replace("\\", "/") if named not in self.entries else named
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            return None, "an absolute path, not looked at: names in an export are relative to its folder"
        path = posixpath.normpath(posixpath.join(self.folder, name)) if self.folder else posixpath.normpath(name)
        if path == ".." or path.startswith("../"):
            return None, "a path that climbs out of the folder scanned, not looked at"
        return path, None

    def ref(self, named: str, *, role: str, media_type: str | None = None, mime_type: str | None = None,
            original_name: str | None = None) -> MediaRef:
        """Gives the MediaRef of a file the export names, with what the folder holds at that name."""
        path, refused = self.resolve(named)
        state: MediaState
        if path is None:
            state, note = "refused", refused
        elif path not in self.entries:
            state, note = "absent", "not in the folder"
        elif self.entries[path] is not None:
            state, note = "refused", self.entries[path]
        else:
            state, note = "present", None
        return MediaRef(named, path, role, state, media_type, mime_type, original_name, note)
