"""Frame extraction: times against ffmpeg's own, pixels against a plain full decode, and the odd files."""

from __future__ import annotations

import contextlib
import itertools
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

from conftest import SHARED_DATA
from forensics.errors import MediaError, MediaUnreadable, ParameterError
from forensics.media.video.frames import INGEST_MAX_FRAMES, INGEST_MODE, extract_frames, parse_mode
from forensics.media.video.rotation import display_rotation_cw_deg, display_transform_of_stream

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
IPHONE = SHARED_DATA / "metadata-extractor-images" / "mov" / "with-gps.mov"
FOOTAGE = SHARED_DATA / "footage" / "car-detection.mp4"


def ffmpeg(*arguments: str) -> str:
    done = subprocess.run([FFMPEG, "-hide_banner", "-y", *arguments], capture_output=True, text=True, check=True)
    return done.stderr


def make(path: Path, *arguments: str) -> Path:
    if not path.exists():
        ffmpeg(*arguments, str(path))
    return path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small seeded videos with known GOPs, made once per run by the ffmpeg that imageio-ffmpeg ships."""
    d = tmp_path_factory.mktemp("frames-media")
    src = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    videos = {
        # Keyframe every 25 frames, two B-frames: the common case.
        "closed_gop": make(d / "closed.mp4", *src, *x264, "-preset", "fast", "-g", "25", "-bf", "2",
                           "-x264-params", "scenecut=0"),
        # Open GOPs: I-frames with leading B-frames that refer back to the previous GOP.
        "open_gop": make(d / "open.mp4", *src, "-c:v", "libx264", "-preset", "fast", "-bf", "3",
                         "-x264-params", "open-gop=1:keyint=20:min-keyint=20:scenecut=0"),
        "hevc": make(d / "hevc.mkv", *src, "-c:v", "libx265", "-preset", "ultrafast",
                     "-x265-params", "keyint=15:min-keyint=15:log-level=error"),
        "mpeg4_avi": make(d / "mpeg4.avi", *src, "-c:v", "mpeg4", "-g", "12"),
        # Variable frame rate: frame n shown at n/25 s for the first second, then at 10 fps.
        "vfr": make(d / "vfr.mkv", *src, "-vf", "setpts='if(lt(N,25),N/25,1+(N-25)/10)/TB'", "-fps_mode", "vfr",
                    *x264, "-g", "30"),
        "single": make(d / "single.mp4", *src, "-frames:v", "1", *x264),
        "audio": make(d / "audio.m4a", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"),
        "faststart": make(d / "faststart.mp4", *src, *x264, "-g", "25", "-movflags", "+faststart"),
        "moov_last": make(d / "moov_last.mp4", *src, *x264, "-g", "25"),
    }
    videos["rotated"] = make(d / "rotated.mp4", "-display_rotation", "90", "-i", str(videos["closed_gop"]),
                             "-c", "copy")
    return videos


def ffmpeg_keyframe_times(path: Path) -> list[float]:
    """Keyframe times as ffmpeg's decoder reports them (what ffprobe -skip_frame nokey -show_frames lists)."""
    log = ffmpeg("-skip_frame", "nokey", "-copyts", "-i", str(path), "-map", "0:v:0", "-vf", "showinfo",
                 "-f", "null", "-")
    return [float(t) for t in re.findall(r"pts_time:(-?[\d.]+)", log)]


def full_decode(path: Path) -> dict[int, np.ndarray]:
    """Every frame by pts, from a plain sequential PyAV decode with nothing skipped."""
    with av.open(str(path)) as container:
        return {frame.pts: frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)}


VIDEOS_WITH_KEYFRAMES = ["closed_gop", "hevc", "mpeg4_avi", "vfr", "rotated"]


@pytest.mark.parametrize("name", VIDEOS_WITH_KEYFRAMES)
def test_keyframe_times_equal_ffmpegs(media: dict[str, Path], name: str) -> None:
    frameset = extract_frames(media[name], mode="keyframes")
    expected = ffmpeg_keyframe_times(media[name])
    assert len(expected) >= 3
    assert [f.pts_s for f in frameset.frames] == pytest.approx(expected, abs=1e-6)  # showinfo prints 6 decimals
    assert all(f.key_frame for f in frameset.frames)


def test_open_gop_keyframes_are_all_found_where_ffmpeg_loses_some(media: dict[str, Path]) -> None:
    # Fed every packet with -skip_frame nokey, FFmpeg's H.264 decoder keeps the last open-GOP
    # keyframes in its reorder buffer and never outputs them (ffprobe lists 3 of 5, out of
    # order). We feed keyframes one at a time and get all five, each pixel-exact.
    path = media["open_gop"]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        flagged = sorted(float(p.pts * stream.time_base) for p in container.demux(stream) if p.size and p.is_keyframe)
    frameset = extract_frames(path, mode="keyframes")
    assert [f.pts_s for f in frameset.frames] == flagged
    assert set(ffmpeg_keyframe_times(path)) < set(flagged)
    reference = full_decode(path)
    assert all(np.array_equal(f.image, reference[f.pts]) for f in frameset.frames)


@pytest.mark.parametrize("path", [IPHONE, FOOTAGE], ids=["iphone", "footage"])
def test_keyframe_times_on_real_media_equal_ffmpegs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} absent: ../shared/data is not beside the repository")
    frameset = extract_frames(path, mode="keyframes", size_px=64)
    assert [f.pts_s for f in frameset.frames] == pytest.approx(ffmpeg_keyframe_times(path), abs=1e-6)


def test_keyframe_times_equal_container_flags_exactly(media: dict[str, Path]) -> None:
    path = media["closed_gop"]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        flagged = sorted(p.pts for p in container.demux(stream) if p.size and p.is_keyframe)
        time_base = stream.time_base
    frameset = extract_frames(path, mode="keyframes")
    assert [f.pts for f in frameset.frames] == flagged
    assert [f.pts_s for f in frameset.frames] == [float(p * time_base) for p in flagged]
    assert [f.index for f in frameset.frames] == [0, 25, 50, 75]
    assert frameset.time_base == Fraction(time_base)


@pytest.mark.parametrize("name", ["closed_gop", "open_gop", "hevc", "vfr"])
@pytest.mark.parametrize("workers", [1, 2])
def test_every_gives_the_exact_pixels_of_a_full_decode(media: dict[str, Path], name: str, workers: int) -> None:
    reference = full_decode(media[name])
    frameset = extract_frames(media[name], mode="every", every_s=0.36, workers=workers)
    assert len(frameset.frames) >= 9
    for frame in frameset.frames:
        assert np.array_equal(frame.image, reference[frame.pts]), f"frame at {frame.pts_s} s differs"


def test_every_takes_the_frame_on_screen_at_each_time(media: dict[str, Path]) -> None:
    path = media["vfr"]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        shown = sorted(float(p.pts * stream.time_base) for p in container.demux(stream) if p.size)
    frameset = extract_frames(path, mode="every:0.25")
    expected = []
    t = 0.0
    while t <= shown[-1] + 1e-9:
        on_screen = max(s for s in shown if s <= t + 1e-9)
        if not expected or expected[-1] != on_screen:
            expected.append(on_screen)
        t += 0.25
    assert [f.pts_s for f in frameset.frames] == pytest.approx(expected)
    steps = {round(b - a, 3) for a, b in itertools.pairwise(shown)}
    assert len(steps) > 1  # the file really is variable rate


def test_frame_types_and_indexes_follow_presentation_order(media: dict[str, Path]) -> None:
    frameset = extract_frames(media["closed_gop"], mode="every:0.04")
    assert [f.index for f in frameset.frames] == list(range(100))
    assert frameset.frames[0].frame_type == "I" and {f.frame_type for f in frameset.frames} <= {"I", "P", "B"}
    assert "B" in {f.frame_type for f in frameset.frames}


def test_rotation_is_applied_as_ffmpeg_autorotates(media: dict[str, Path]) -> None:
    plain = extract_frames(media["closed_gop"], mode="keyframes")
    turned = extract_frames(media["rotated"], mode="keyframes")
    raw = extract_frames(media["rotated"], mode="keyframes", apply_rotation=False)
    assert (turned.rotation_cw_deg, turned.rotation_applied, raw.rotation_applied) == (270, True, False)
    assert turned.frames[0].image.shape == (160, 120, 3)
    assert np.array_equal(turned.frames[0].image, np.rot90(plain.frames[0].image))  # 90 = counter-clockwise
    assert np.array_equal(raw.frames[0].image, plain.frames[0].image)
    rgb = subprocess.run([FFMPEG, "-v", "error", "-i", str(media["rotated"]), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    assert len(rgb) == 160 * 120 * 3  # ffmpeg turns it the same way


def test_iphone_video_is_shown_upright() -> None:
    if not IPHONE.exists():
        pytest.skip(f"{IPHONE} absent: ../shared/data is not beside the repository")
    frameset = extract_frames(IPHONE, mode="keyframes", max_frames=1)
    assert frameset.rotation_cw_deg == 90 and frameset.rotation_applied and not frameset.mirrored
    assert frameset.frames[0].image.shape == (568, 320, 3)  # coded 568 x 320, shown portrait
    with av.open(str(IPHONE)) as container:
        stream = container.streams.video[0]
        assert display_rotation_cw_deg(stream) == 90
        assert display_transform_of_stream(stream).swaps_axes


def test_size_bounds_the_longer_side(media: dict[str, Path]) -> None:
    frameset = extract_frames(media["rotated"], mode="keyframes", size_px=80)
    assert {f.image.shape for f in frameset.frames} == {(80, 60, 3)}
    big = extract_frames(media["closed_gop"], mode="keyframes", size_px=4000)
    assert big.frames[0].image.shape == (120, 160, 3)  # never enlarged


def test_max_frames_spreads_over_the_whole_video(media: dict[str, Path]) -> None:
    frameset = extract_frames(media["closed_gop"], mode="every:0.04", max_frames=5)
    assert [f.index for f in frameset.frames] == [0, 25, 50, 74, 99]
    keys = extract_frames(media["closed_gop"], mode="keyframes", max_frames=2)
    assert [f.index for f in keys.frames] == [0, 75]


def test_single_frame_video_gives_its_frame_in_every_mode(media: dict[str, Path]) -> None:
    for mode in ("keyframes", "every:1", "scenes", "keyframes+scenes"):
        frameset = extract_frames(media["single"], mode=mode)
        assert [f.pts_s for f in frameset.frames] == [0.0], mode
        assert frameset.frame_count == 1
    assert len(extract_frames(media["single"], mode="scenes").shots) == 1


def test_audio_only_file_is_a_clear_error(media: dict[str, Path]) -> None:
    with pytest.raises(MediaUnreadable, match=r"audio.m4a: no video stream .*audio"):
        extract_frames(media["audio"])


def test_not_media_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    with pytest.raises(MediaUnreadable, match=r"notes\.mp4"):
        extract_frames(text)
    with pytest.raises(MediaUnreadable, match="no such file"):
        extract_frames(tmp_path / "missing.mp4")


def test_truncated_file_gives_the_frames_before_the_cut(media: dict[str, Path], tmp_path: Path) -> None:
    whole = media["faststart"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    frameset = extract_frames(cut, mode="every:0.5")
    times = [f.pts_s for f in frameset.frames]
    assert times and times == sorted(times) and times[-1] < 4.0
    reference = full_decode(media["faststart"])
    for frame in frameset.frames:
        assert np.array_equal(frame.image, reference[frame.pts])


def test_truncated_file_without_its_index_is_a_clear_error(media: dict[str, Path], tmp_path: Path) -> None:
    whole = media["moov_last"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])  # the moov index sits at the end and is gone
    with pytest.raises(MediaUnreadable, match=r"cut\.mp4"):
        extract_frames(cut)


def test_raw_stream_without_timestamps_is_numbered_at_its_declared_rate(media: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    raw = tmp_path / "clip.h264"  # an elementary stream, as DVR exports often are: no container, no times
    ffmpeg("-i", str(media["closed_gop"]), "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", str(raw))
    keys = extract_frames(raw, mode="keyframes")
    assert [(f.pts_s, f.index, f.frame_type) for f in keys.frames] == [(0.0, 0, "I"), (1.0, 25, "I"),
                                                                         (2.0, 50, "I"), (3.0, 75, "I")]
    assert any("no timestamps" in note and "25 frames per second" in note for note in keys.notes)
    every = extract_frames(raw, mode="every:0.2")
    reference = full_decode(media["closed_gop"])  # the same pictures, with their real times
    by_index = [reference[pts] for pts in sorted(reference)]
    assert [f.index for f in every.frames] == list(range(0, 100, 5))
    assert all(np.array_equal(f.image, by_index[f.index]) for f in every.frames)


def test_container_without_keyframe_flags_falls_back_to_the_decoder(media: dict[str, Path], tmp_path: Path) -> None:
    # NUT keeps packet flags as given: remux with every random-access flag cleared.
    path = tmp_path / "unflagged.nut"
    with av.open(str(media["closed_gop"])) as source, av.open(str(path), "w") as target:
        out = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(video=0):
            if packet.dts is None:
                continue
            packet.is_keyframe = False
            packet.stream = out
            target.mux(packet)
    with av.open(str(path)) as container:
        assert not any(p.is_keyframe for p in container.demux(video=0) if p.size)
    frameset = extract_frames(path, mode="keyframes")
    assert [f.pts_s for f in frameset.frames] == pytest.approx(ffmpeg_keyframe_times(path), abs=1e-6)
    assert len(frameset.frames) == 4 and all(f.frame_type == "I" for f in frameset.frames)
    assert any("flags no keyframes" in note for note in frameset.notes)
    every = extract_frames(path, mode="every:1")
    assert [f.index for f in every.frames] == [0, 25, 50, 75]


def test_workers_do_not_change_the_result(media: dict[str, Path]) -> None:
    one = extract_frames(media["open_gop"], mode="keyframes+scenes", workers=1)
    two = extract_frames(media["open_gop"], mode="keyframes+scenes", workers=2)
    assert [f.pts for f in one.frames] == [f.pts for f in two.frames]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(one.frames, two.frames))


def test_ingest_default_is_keyframes_plus_scenes_capped(media: dict[str, Path]) -> None:
    assert INGEST_MODE == "keyframes+scenes" and INGEST_MAX_FRAMES >= 10
    frameset = extract_frames(media["closed_gop"], mode=INGEST_MODE, max_frames=3)
    assert len(frameset.frames) == 3
    assert frameset.parameters.mode == INGEST_MODE and frameset.parameters.max_frames == 3


def test_modes_parse_and_bad_ones_say_what_to_write(media: dict[str, Path]) -> None:
    assert parse_mode("every:2.5") == ("every", 2.5)
    assert parse_mode("Scenes") == ("scenes", None)
    for bad in ("every:", "every:-1", "every:x", "shots", "keyframes:2"):
        with pytest.raises(ParameterError):
            parse_mode(bad)
    with pytest.raises(ParameterError):
        extract_frames(media["single"], mode="every")
    with pytest.raises(ParameterError):
        extract_frames(media["single"], max_frames=0)


def test_a_selection_too_big_for_memory_is_refused_before_decoding(media: dict[str, Path]) -> None:
    with pytest.raises(MediaError, match=r"100 frames of 160 x 120 would take 5 MiB .*--max"):
        extract_frames(media["closed_gop"], mode="every:0.04", max_memory_bytes=1_000_000)
    small = extract_frames(media["closed_gop"], mode="every:0.04", size_px=40, max_memory_bytes=1_000_000)
    assert len(small.frames) == 100


def test_every_fuzzed_file_gives_frames_or_a_media_error_never_another_exception():
    """PyAV raised UnicodeDecodeError on a tag that is not UTF-8; such a file must still be handled."""
    from forensics.errors import MediaError

    fuzzing = SHARED_DATA / "metadata-extractor-images" / "fuzzing"
    if not fuzzing.is_dir():
        pytest.skip(f"the shared real media are not here ({fuzzing}); see ../shared/data/README.md")
    for path in sorted(fuzzing.iterdir()):
        with contextlib.suppress(MediaError):
            extract_frames(path, mode="keyframes+scenes", max_frames=8)
