"""The public API is forensics.__all__: sorted, complete, and every name real."""

from __future__ import annotations

import forensics
from conftest import REPO


def test_all_is_sorted_and_every_name_exists():
    assert forensics.__all__ == sorted(forensics.__all__)
    for name in forensics.__all__:
        assert getattr(forensics, name) is not None, name


def test_every_error_is_a_forensics_error():
    errors = [getattr(forensics, n) for n in forensics.__all__ if n.endswith(("Error", "Locked", "Invalid", "Timeout",
                                                                             "Unreadable"))]
    assert len(errors) >= 10
    assert all(issubclass(e, forensics.ForensicsError) for e in errors)


def test_the_library_never_prints_exits_or_uses_the_cli_toolkits():
    import pathlib
    import re

    source = pathlib.Path(forensics.__file__).parent
    offenders = [f"{p.relative_to(source)}:{n}" for p in source.rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if re.match(r"\s*(print\(|sys\.exit\(|import click|from click|from rich|import rich)", line)]
    assert offenders == []


def test_custody_commands_do_not_load_the_media_stack():
    """verify, key and --custody-only ingest never need OpenCV, PyAV or librosa (a third of a second)."""
    import subprocess
    import sys

    code = ("import sys\nfrom forensics_cli.main import cli\n"
            "try:\n    cli(['verify', '--help'], prog_name='forensics')\nexcept SystemExit:\n    pass\n"
            "import forensics\nforensics.verify_case, forensics.ingest\n"
            "print(sorted(m for m in ('cv2', 'av', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_audio_analysis_does_not_import_librosa_or_numba():
    """A worker that fingerprints sound loads neither (with numba, most of a second a process); the tests use librosa."""
    import subprocess
    import sys

    code = ("import sys\nfrom pathlib import Path\nfrom forensics.audio.search import fingerprint_file\n"
            f"printed = fingerprint_file(Path({str(REPO / 'fixtures' / 'incident' / 'audio' / 'intercept_full.wav')!r}))\n"
            "assert printed.error is None and printed.features[0].peak_frames.size > 100\n"
            "print(sorted(m for m in ('librosa', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
