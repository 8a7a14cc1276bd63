"""`forensics frames`: stills from videos, with their exact times, a contact sheet and a thumbnail."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import click

from forensics.atomic import write_atomic
from forensics.errors import MediaError, ParameterError, file_error
from forensics.media.video.contact_sheet import contact_sheet, format_time, thumbnail
from forensics.media.video.frame_record import frame_json, frameset_json
from forensics.media.video.frames import FrameSet, extract_frames, parse_mode
from forensics.media.video.gop_decoder import cores_available
from forensics.media.video.image_encoding import IMAGE_FORMATS, SUFFIXES, encode_image, encode_images
from forensics_cli.console import (
    EXIT_OK,
    EXIT_PROBLEMS,
    emit_results,
    fail,
    json_text,
    library_errors,
    progress_bar,
    show_progress,
    shown,
    stderr,
    stdout,
)

# Written whole or not at all (a crash never leaves half a picture), readable by their owner only, as
# they always were.
_FILE_MODE = 0o600


@click.command("frames")
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into; each video gets a subfolder named after it.")
@click.option("--mode", default="keyframes", show_default=True,
              help="keyframes | scenes (one frame per shot) | keyframes+scenes | every:SECONDS")
@click.option("--max", "max_frames", type=click.IntRange(min=1), default=None,
              help="At most N frames per video, spread over the whole video.")
@click.option("--size", "size_px", type=click.IntRange(min=16), default=None,
              help="Longest side of each frame in pixels (never enlarged). Default: full size.")
@click.option("--format", "image_format", type=click.Choice(IMAGE_FORMATS), default="png", show_default=True,
              help="png keeps every pixel; jpeg is a tenth of the size.")
@click.option("--no-rotate", is_flag=True, help="Keep frames as coded, ignoring the display rotation.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary lines.")
def command(videos: tuple[Path, ...], out_dir: Path, mode: str, max_frames: int | None, size_px: int | None,
            image_format: str, no_rotate: bool, as_json: bool, quiet: bool) -> None:
    """Extract frames from each VIDEO, with their presentation times, into --out.

    Writes per video: one picture per frame (frame-<number>-<milliseconds>ms), a contact
    sheet (contact-sheet.png) with each frame's time printed, a thumbnail, and frames.json.
    A video that cannot be read is reported and skipped; the exit code is then 1.
    """
    with library_errors():
        mode_name, every_s = parse_mode(mode)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    used_names: set[str] = set()
    for video in videos:
        folder = out_dir / _unique_name(video, used_names)
        try:
            with progress_bar(show_progress(quiet), f"frames {shown(video.name)}") as progress:
                frameset = extract_frames(video, mode=mode_name, every_s=every_s, max_frames=max_frames,
                                          size_px=size_px, progress=progress, apply_rotation=not no_rotate)
            report = _write(frameset, folder, image_format)
        except ParameterError as ex:
            fail(ex)
        except (MediaError, OSError, MemoryError) as ex:
            if isinstance(ex, OSError) and ex.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
                fail(ex)  # the output cannot be written: no later video could be either (exit 3)
            error = file_error(video.name, ex)
            stderr.print(f"[bold red]error:[/] {shown(os.path.dirname(video) or '.')}/{shown(error)}", highlight=False)
            errors.append({"path": str(video), "error": error})
            continue
        reports.append(report)
        if not quiet and not as_json:
            _summarise(frameset, folder)
    if as_json:
        emit_results(reports, errors)
    raise SystemExit(EXIT_PROBLEMS if errors else EXIT_OK)


def _unique_name(video: Path, used: set[str]) -> str:
    """Gives a subfolder name for `video`: its name, numbered when two videos share one."""
    base = video.name
    name, number = base, 2
    while name in used:
        name, number = f"{base}-{number}", number + 1
    used.add(name)
    return name


def _write(frameset: FrameSet, folder: Path, image_format: str) -> dict[str, Any]:
    """Writes the frames, the contact sheet, the thumbnail and frames.json; gives the JSON report."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = SUFFIXES[image_format]
    listed = []
    encoded = encode_images([frame.image for frame in frameset.frames], format=image_format,
                            workers=cores_available())
    for frame, data in zip(frameset.frames, encoded):
        millis = round((frame.pts_s - frameset.start_s) * 1000)
        name = f"frame-{frame.index:06d}-{millis:09d}ms{suffix}"
        write_atomic(folder / name, data, mode=_FILE_MODE)
        listed.append({**frame_json(frame), "file": name, "time_from_start_s": frame.pts_s - frameset.start_s,
                       "time": format_time(frame.pts_s - frameset.start_s),
                       "width_px": int(frame.image.shape[1]), "height_px": int(frame.image.shape[0])})
    sheet_name = thumb_name = None
    if frameset.frames:
        sheet_name, thumb_name = "contact-sheet.png", "thumbnail.jpg"
        write_atomic(folder / sheet_name, encode_image(contact_sheet(frameset), format="png"), mode=_FILE_MODE)
        write_atomic(folder / thumb_name, encode_image(thumbnail(frameset), format="jpeg"), mode=_FILE_MODE)
    parameters = frameset.parameters
    report = {
        **frameset_json(frameset, frames=listed),
        "path": str(frameset.source), "folder": str(folder), "mode": parameters.mode,
        "parameters": {"every_s": parameters.every_s, "max_frames": parameters.max_frames,
                       "size_px": parameters.size_px, "apply_rotation": parameters.apply_rotation,
                       "skip_loop_filter": parameters.skip_loop_filter, "format": image_format},
        "rotation_cw_deg": frameset.rotation_cw_deg, "rotation_applied": frameset.rotation_applied,
        "time_base": str(frameset.time_base), "contact_sheet": sheet_name, "thumbnail": thumb_name,
    }
    write_atomic(folder / "frames.json", json_text(report).encode(), mode=_FILE_MODE)
    return report


def _summarise(frameset: FrameSet, folder: Path) -> None:
    details = [f"{len(frameset.frames)} frame(s)", frameset.parameters.mode]
    if frameset.shots:
        details.append(f"{len(frameset.shots)} shot(s)")
    if frameset.rotation_applied:
        mirrored = " and mirrored" if frameset.mirrored else ""
        details.append(f"turned {frameset.rotation_cw_deg}° clockwise{mirrored}")
    stdout.print(f"{shown(frameset.source.name)}: {', '.join(details)} -> {shown(folder)}")
    for note in frameset.notes:
        stdout.print(f"  note: {shown(note)}")
