"""The case's lock: exclusive to write, shared to read, held with flock on `.forensics/lock`."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from forensics.custody.folder import CaseFolder, NotRegular, kind_of_mode, write_atomic_in
from forensics.errors import CaseDamaged, CaseLocked

log = logging.getLogger(__name__)

WORK_DIR = ".forensics"  # lock and temp files; not part of the bag
_LOCK, _HOLDER = "lock", "holder"


@contextlib.contextmanager
def case_lock(where: CaseFolder | Path, *, exclusive: bool, wait_s: float = 0.0) -> Iterator[None]:
    """Holds the case's lock; raises CaseLocked when another process holds it against us.

    flock is released by the kernel when the holder dies, so a killed run never
    leaves the case locked. The lock file is opened read-only and never written:
    a writer names itself in `.forensics/holder`, replaced by a rename, so a lock
    or holder file that is a link can never make us write through it. A writer
    refuses a case whose work folder or lock is not what this program makes
    (CaseDamaged); a reader that cannot lock (a read-only copy of a case, or such
    a damaged one, which verify reports) reads without the lock.
    """
    if not isinstance(where, CaseFolder):
        with CaseFolder(where) as folder, case_lock(folder, exclusive=exclusive, wait_s=wait_s):
            yield
        return
    folder = where
    try:
        fd = _open_lock(folder, create=exclusive)  # a reader never makes anything in the case
    except FileNotFoundError:
        if exclusive:
            raise
        yield  # no lock file: no writer has been here since the case was copied
        return
    except (NotRegular, OSError) as ex:
        if exclusive:
            if isinstance(ex, NotRegular):
                raise CaseDamaged(f"{folder.path}: {ex.rel} is a {ex.kind}, which this program never makes; "
                                  "run `forensics verify` to see the case's state; nothing was written") from ex
            raise
        log.info("reading %s without its lock: %s", folder.path, ex)
        yield
        return
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CaseLocked(f"case {folder.path} is being written by {_holder(folder)}; wait for it "
                                     "to finish and run the command again") from None
                time.sleep(0.2)
        if exclusive:
            text = f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
            try:
                with folder.dir(WORK_DIR) as work:
                    write_atomic_in(work, _HOLDER, text.encode(), durable=False)
            except OSError as ex:  # only a note for the "busy" message; the check of the case says the rest
                log.info("%s: the lock holder's note could not be written (%s)", folder.path, ex)
        yield
    finally:
        os.close(fd)


def _open_lock(folder: CaseFolder, *, create: bool) -> int:
    with folder.dir(WORK_DIR, create=create) as work:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        try:
            st = os.stat(_LOCK, dir_fd=work, follow_symlinks=False)
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISREG(st.st_mode):  # looked at first: a device is never opened
                raise NotRegular(f"{WORK_DIR}/{_LOCK}", kind_of_mode(st.st_mode))
        try:
            fd = os.open(_LOCK, flags, 0o644, dir_fd=work)
        except OSError as ex:
            if ex.errno == errno.ELOOP:
                raise NotRegular(f"{WORK_DIR}/{_LOCK}", "symbolic link") from None
            raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegular(f"{WORK_DIR}/{_LOCK}", kind_of_mode(mode))
    return fd


def _holder(folder: CaseFolder) -> str:
    try:
        text = folder.read(f"{WORK_DIR}/{_HOLDER}", max_bytes=400).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return "".join(c for c in text if c.isprintable()) or "another process"
