"""What one worker computes for one evidence file: picklable job in, picklable results out.

This is the part of an ingest that can run anywhere: in the ingesting process, in
a process pool, or on a Dask worker of another machine that sees the case folder.
It reads the stored copy and never writes: the coordinator alone records the
results into the case (forensics.pipeline.analyses), so the custody log has one writer.
Every result says which host and process made it, for the custody record.

A video's frames and dedup steps share one decoding pass: the scene scan decodes every frame
anyway, and hands the dedup sampler the frames it wants as they go by (frames.FrameTap). Should
that shared pass fail, each step runs on its own, as it would alone, so a hostile file costs
each step only its own record and the records never depend on which way they were made.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forensics.digests import named_sha256
from forensics.errors import MediaError
from forensics.record_kinds import AUDIO, DEDUP, FRAMES, METADATA, RecordKind
from forensics.step_failure import StepFailure

if TYPE_CHECKING:
    from forensics.media.video.frames import FrameSet
    from forensics.records import Record

log = logging.getLogger(__name__)

# The steps in the order they run: later steps read what earlier ones found.
STEPS: tuple[RecordKind, ...] = (METADATA, FRAMES, DEDUP, AUDIO)
# The media types each step applies to: as sniffed when the job is made, as probed once metadata is read.
_STEP_MEDIA: dict[RecordKind, tuple[str, ...]] = {METADATA: ("video", "image", "audio"), FRAMES: ("video",),
                                                  DEDUP: ("image", "video"), AUDIO: ("video", "audio")}


@dataclass(frozen=True, slots=True)
class FileJob:
    """One stored original to analyse, and which steps it still lacks."""

    path: str  # the stored copy, absolute: the worker must see the case folder
    sha256: str  # hex, of the stored copy
    name: str  # as received, for messages and records
    sniffed_type: str  # media type from the content signature at ingest
    fs_mtime_utc: str | None  # the original's mtime (ISO 8601), for the time-consistency flags
    steps: tuple[RecordKind, ...]  # the steps to run, a subset of STEPS
    probed_type: str | None = None  # media type from an earlier metadata record, when there is one
    trust_anchors_pem: str | None = None  # the roots Content Credentials' signers are checked against


@dataclass(frozen=True, slots=True)
class DerivedOutput:
    """A file made from the source, ready to be stored: bytes and how they were made.

    The record names where the case stored it: the coordinator passes the stored copies, in the order
    of the step's derived outputs, to the record's `with_stored` (FramesRecord, AudioRecord).
    """

    name: str
    data: bytes = field(repr=False)
    operation: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step found: a record, and the derived files the record points to."""

    step: RecordKind
    record: Record  # the derived files' paths are filled in by the coordinator
    derived: tuple[DerivedOutput, ...] = ()
    elapsed_s: float = 0.0  # the step's time on its worker, for the custody record


@dataclass(frozen=True, slots=True)
class FileResults:
    """Every step's result for one file, and where it was computed."""

    sha256: str
    results: tuple[StepResult, ...]
    host: str
    pid: int

    @property
    def performed_on(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid}


def analyse_file(job: FileJob) -> FileResults:
    """Runs the job's steps on its file; a step that fails gives an error record, never an exception."""
    media_type = job.probed_type or job.sniffed_type
    results: list[StepResult] = []
    done_already: dict[RecordKind, StepResult] = {}  # a later step's result, made by an earlier step's pass
    for step in STEPS:
        if step not in job.steps or media_type not in _STEP_MEDIA[step]:
            continue  # not asked for, or the probe found no stream this step reads: nothing to record
        if step in done_already:
            results.append(done_already.pop(step))
        elif step == FRAMES and DEDUP in job.steps and media_type in _STEP_MEDIA[DEDUP]:
            frames, done_already[DEDUP] = _frames_and_dedup(job)
            results.append(frames)
        else:
            results.append(_run_step(step, _STEP_FUNCTIONS[step], job))
        media_type = _probed_media_type(results[-1].record) or media_type
    return FileResults(job.sha256, tuple(results), socket.gethostname(), os.getpid())


def _run_step(step: RecordKind, function: Callable[[FileJob], StepResult], job: FileJob) -> StepResult:
    """Gives the step's result, timed; a failure gives an error record, never an exception."""
    start = time.perf_counter()
    try:
        result = function(job)
    except MediaError as ex:
        result = StepResult(step, StepFailure(step, str(ex)))
    except Exception as ex:  # a decoder bug on one hostile file must cost only that file
        log.exception("%s failed on %s", step, job.name)
        result = StepResult(step, StepFailure(step, f"{step} failed unexpectedly ({type(ex).__name__}: {ex})"))
    return dataclasses.replace(result, elapsed_s=time.perf_counter() - start)


def _probed_media_type(record: Record) -> str | None:
    """The media type a metadata record found, when it is one that found it."""
    from forensics.media.metadata.record import MediaRecord

    return record.media_type if isinstance(record, MediaRecord) and not record.error else None


def applicable_steps(media_type: str) -> tuple[RecordKind, ...]:
    """The steps that apply to a file of this media type (as sniffed, or as probed)."""
    return tuple(s for s in STEPS if media_type in _STEP_MEDIA[s])


def _metadata(job: FileJob) -> StepResult:
    from forensics.media.metadata.probe import probe_media

    record = probe_media(Path(job.path), sha256=job.sha256, fs_mtime_utc=job.fs_mtime_utc, pool=_reader_pool(),
                         trust_anchors_pem=job.trust_anchors_pem)
    # The record names the file as it was received, not where the case keeps it.
    return StepResult(METADATA, dataclasses.replace(record, path=job.name))


def _frames_and_dedup(job: FileJob) -> tuple[StepResult, StepResult]:
    """Gives the frames and dedup steps' results of a video from one decoding pass; each step alone when the
    pass fails, or gives the sampler less than its own decoding would (damaged packets)."""
    from forensics.dedup.sampling import VideoSampler, sampled_pictures
    from forensics.media.video.frames import INGEST_MAX_FRAMES, INGEST_MODE, extract_frames

    sampler = VideoSampler()
    start = time.perf_counter()
    try:
        frameset = extract_frames(Path(job.path), mode=INGEST_MODE, max_frames=INGEST_MAX_FRAMES,
                                  tap=sampler)
    except Exception as ex:  # noqa: BLE001 - each step alone says what is wrong, in its own words
        log.debug("the shared decoding pass failed on %s (%r); each step decodes on its own", job.name, ex)
        return _run_step(FRAMES, _frames, job), _run_step(DEDUP, _dedup, job)
    frames = _run_step(FRAMES, lambda job: _frames_of(frameset), job)
    frames = dataclasses.replace(frames, elapsed_s=time.perf_counter() - start)  # the pass, and the encoding
    if sampler.decode_errors != 0:
        # Which damaged packets the sampler's own GOPs would have met cannot be told from the whole
        # stream's count, and its record says how many: it decodes them itself.
        return frames, _run_step(DEDUP, _dedup, job)

    def dedup_of(job: FileJob) -> StepResult:
        from forensics.dedup.media_hashes import hash_pictures_of

        return StepResult(DEDUP, hash_pictures_of(sampled_pictures(Path(job.path), sampler),
                                                  key=named_sha256(job.sha256)))

    dedup = _run_step(DEDUP, dedup_of, job)
    if isinstance(dedup.record, StepFailure):
        dedup = _run_step(DEDUP, _dedup, job)  # its record then says what its own decoding met
    return frames, dedup


def _frames(job: FileJob) -> StepResult:
    from forensics.media.video.frames import INGEST_MAX_FRAMES, INGEST_MODE, extract_frames

    return _frames_of(extract_frames(Path(job.path), mode=INGEST_MODE, max_frames=INGEST_MAX_FRAMES))


def _frames_of(frameset: FrameSet) -> StepResult:
    """Gives the frames step's result: the record, and the frames, contact sheet and thumbnail encoded."""
    from forensics.media.video.contact_sheet import contact_sheet, thumbnail
    from forensics.media.video.frame_record import FramesRecord, frame_json
    from forensics.media.video.frames import INGEST_MODE
    from forensics.media.video.image_encoding import encode_image, encode_images

    operation = f"frames.{INGEST_MODE}"
    common = {**dataclasses.asdict(frameset.parameters), "time_base": str(frameset.time_base),
              "rotation_cw_deg": frameset.rotation_cw_deg, "rotation_applied": frameset.rotation_applied}
    derived: list[DerivedOutput] = []
    pngs = encode_images([f.image for f in frameset.frames], format="png")
    for frame, png in zip(frameset.frames, pngs):
        derived.append(DerivedOutput(f"frame-{frame.index:06d}-{round(frame.pts_s * 1000):d}ms.png", png,
                                     operation, {**common, **frame_json(frame)}))
    # In the order FramesRecord.with_stored takes them: the frames, the contact sheet, the thumbnail.
    derived.append(DerivedOutput("contact-sheet.png", encode_image(contact_sheet(frameset), format="png"),
                                 "frames.contact_sheet", {**common, "frames": len(frameset.frames)}))
    derived.append(DerivedOutput("thumbnail.jpg", encode_image(thumbnail(frameset), format="jpeg"),
                                 "frames.thumbnail", common))
    return StepResult(FRAMES, FramesRecord.of(frameset), tuple(derived))


def _dedup(job: FileJob) -> StepResult:
    from forensics.dedup.media_hashes import hash_media

    return StepResult(DEDUP, hash_media(Path(job.path), key=named_sha256(job.sha256)))


def _audio(job: FileJob) -> StepResult:
    from forensics.audio.record import AudioRecord, SegmentEntry, TrackEntry
    from forensics.audio.search import fingerprint_file, track_summary
    from forensics.audio.spectrum import features_to_bytes

    printed = fingerprint_file(Path(job.path), sha256=job.sha256)
    if printed.error is not None or printed.audio is None:
        return StepResult(AUDIO, StepFailure(AUDIO, printed.error))
    # One fingerprint file a track, in the order AudioRecord.with_stored takes them.
    derived = tuple(DerivedOutput(f"audio-fingerprint-{track.stream_index}.npz", features_to_bytes(features),
                                  "audio.fingerprint", {"stream_index": track.stream_index})
                    for track, features in zip(printed.audio.tracks, printed.features))
    tracks = []
    for track in printed.audio.tracks:
        summary = track_summary(track)
        tracks.append(TrackEntry(summary["stream_index"], summary["codec"], summary["source_rate_hz"],
                                 summary["channels"], summary["duration_s"],
                                 tuple(SegmentEntry(**s) for s in summary["segments"])))
    return StepResult(AUDIO, AudioRecord(tuple(tracks), tuple(printed.audio.notes)), derived)


_local = threading.local()


def _reader_pool() -> Any:
    """This thread's own isolated reader worker: threads of one runner probe side by side, not in turns."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        from forensics.media.metadata.probe import worker_pool

        pool = _local.pool = worker_pool(workers=1)
        atexit.register(pool.close)
    return pool


_STEP_FUNCTIONS: dict[RecordKind, Callable[[FileJob], StepResult]] = {METADATA: _metadata, FRAMES: _frames,
                                                                         DEDUP: _dedup, AUDIO: _audio}
