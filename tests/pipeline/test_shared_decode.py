"""A video's frames and dedup steps share one decoding pass, and each still stands alone when that pass fails."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest

import forensics.dedup.sampling as sampling
import forensics.media.video.frames as frames
from conftest import FIXTURES
from forensics.dedup.media_hashes import MediaHashes, hash_media
from forensics.digests import named_sha256
from forensics.errors import MediaUnreadable
from forensics.pipeline.file_analysis import FileJob, FileResults, analyse_file
from forensics.record_kinds import DEDUP, FRAMES
from forensics.step_failure import StepFailure

VIDEO = FIXTURES / "incident" / "video" / "strike_original.mp4"


def job_of(path: Path) -> FileJob:
    return FileJob(path=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest(), name=path.name,
                   sniffed_type="video", fs_mtime_utc=None, steps=(FRAMES, DEDUP), probed_type="video")


def records(results: FileResults) -> dict[str, Any]:
    return {str(r.step): r.record for r in results.results}


@pytest.fixture(scope="module")
def alone() -> dict[str, Any]:
    """The two steps' records, each made by its own decoding pass (as before #23)."""
    job = job_of(VIDEO)
    return {str(FRAMES): analyse_file(dataclasses.replace(job, steps=(FRAMES,))),
            str(DEDUP): hash_media(VIDEO, key=named_sha256(job.sha256))}


def frames_json(results: FileResults) -> dict[str, Any]:
    return next(r.record.to_json() for r in results.results if r.step == FRAMES)


def test_frames_and_dedup_come_from_one_pass_and_equal_each_step_alone(monkeypatch: pytest.MonkeyPatch,
                                                                      alone: dict[str, Any]) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the dedup step decoded the video again")

    monkeypatch.setattr(sampling.VideoSampler, "decode", refuse)
    monkeypatch.setattr(sampling, "read_video_index", refuse)  # nor read its packet index again
    results = analyse_file(job_of(VIDEO))
    assert [r.step for r in results.results] == [FRAMES, DEDUP]
    dedup = records(results)[str(DEDUP)]
    assert isinstance(dedup, MediaHashes)
    assert dedup.to_json() == alone[str(DEDUP)].to_json()
    assert frames_json(results) == frames_json(alone[str(FRAMES)])
    derived = {r.step: [(d.name, d.data) for d in r.derived] for r in results.results}
    assert derived[FRAMES] == [(d.name, d.data) for d in alone[str(FRAMES)].results[0].derived]


def test_when_the_shared_pass_fails_each_step_decodes_alone(monkeypatch: pytest.MonkeyPatch,
                                                            alone: dict[str, Any]) -> None:
    original = frames.extract_frames

    def no_tap(*args: Any, tap: Any = None, **kwargs: Any) -> Any:
        if tap is not None:
            raise RuntimeError("a decoder bug the shared pass met")
        return original(*args, **kwargs)

    monkeypatch.setattr(frames, "extract_frames", no_tap)
    results = analyse_file(job_of(VIDEO))
    assert records(results)[str(DEDUP)].to_json() == alone[str(DEDUP)].to_json()
    assert frames_json(results) == frames_json(alone[str(FRAMES)])


def test_a_frames_step_failing_keeps_the_dedup_record(monkeypatch: pytest.MonkeyPatch,
                                                      alone: dict[str, Any]) -> None:
    def broken(path: Path, **kwargs: Any) -> Any:
        raise MediaUnreadable(f"{Path(path).name}: no frame could be decoded")

    monkeypatch.setattr(frames, "extract_frames", broken)
    found = records(analyse_file(job_of(VIDEO)))
    assert isinstance(found[str(FRAMES)], StepFailure)
    assert "no frame could be decoded" in found[str(FRAMES)].to_json()["error"]
    assert found[str(DEDUP)].to_json() == alone[str(DEDUP)].to_json()


def test_damaged_packets_send_the_sampler_to_its_own_pass(monkeypatch: pytest.MonkeyPatch,
                                                          alone: dict[str, Any]) -> None:
    took = sampling.VideoSampler.take
    decoded: list[Path] = []
    own_pass = sampling.VideoSampler.decode

    def damaged(self: sampling.VideoSampler, values: Any, decode_errors: int) -> None:
        took(self, values, decode_errors if decoded else decode_errors + 1)  # the scan's pass met one

    def spy(self: sampling.VideoSampler, path: Path, **kwargs: Any) -> Any:
        decoded.append(path)
        return own_pass(self, path, **kwargs)

    monkeypatch.setattr(sampling.VideoSampler, "take", damaged)
    monkeypatch.setattr(sampling.VideoSampler, "decode", spy)
    found = records(analyse_file(job_of(VIDEO)))
    assert decoded == [VIDEO]  # its record says what its own decoding met, as before
    assert found[str(DEDUP)].to_json() == alone[str(DEDUP)].to_json()


def test_a_damaged_videos_records_are_the_same_alone_and_beside_other_files(tmp_path: Path, alice) -> None:
    # Frame-threaded and single-threaded decoding conceal a truncated stream's damage differently: had the
    # decoders' threads been sized by the files beside it, its shots would change with its folder (found by the
    # adversarial pass: 30 frames alone, 31 beside a photo). Every video decodes alike, whatever its company.
    import subprocess

    import imageio_ffmpeg

    from forensics.incident import ingest

    whole = tmp_path / "base.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=30:duration=4", "-c:v", "libx264", "-g", "60", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(whole)], check=True)
    data = whole.read_bytes()
    records = []
    for folder, companions in (("alone", ()), ("with", ("zz.jpg",))):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "trunc.mp4").write_bytes(data[: len(data) * 55 // 100])
        for name in companions:
            (tmp_path / folder / name).write_bytes((FIXTURES / "incident" / "photo" / "IMG_0001.jpg").read_bytes())
        ingest([tmp_path / folder], tmp_path / f"case-{folder}", key=alice, incident="strike")
        case = tmp_path / f"case-{folder}"
        [frames] = case.glob("custody/records/*/*/frames.json")
        records.append(frames.read_bytes())
    assert records[0] == records[1]


def test_frames_decoded_from_damaged_data_are_noted_in_the_frames_and_dedup_records(tmp_path: Path) -> None:
    # 400 bytes flipped in the middle of the media data: the decoder conceals the damage and outputs the frames
    # flagged corrupt. The records say so (they said nothing: found by the adversarial pass).
    import subprocess

    import av
    import imageio_ffmpeg

    whole = tmp_path / "base.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25:duration=4", "-c:v", "libx264", "-g", "31", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(whole)], check=True)
    data = bytearray(whole.read_bytes())
    mdat = data.find(b"mdat")
    middle = mdat + (len(data) - mdat) // 2
    data[middle:middle + 400] = bytes(b ^ 0xFF for b in data[middle:middle + 400])
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with av.open(str(damaged)) as container:
        corrupt = sum(f.is_corrupt for p in container.demux(container.streams.video[0]) for f in p.decode())
    assert corrupt >= 1  # the damage is concealed, not rejected: what this test is about
    results = analyse_file(job_of(damaged))
    frames_notes, dedup_notes = frames_json(results)["notes"], records(results)[str(DEDUP)].notes
    said = (f"{corrupt} frame(s) were decoded from damaged data, the damage concealed by the decoder: what they "
            "show near it may be filled in, not recorded")
    assert [n for n in frames_notes if "damage concealed by the decoder" in n] == [said]
    assert any("damage concealed by the decoder" in n for n in dedup_notes)
