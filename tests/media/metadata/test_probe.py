"""probe_media's contract on media made here: arguments, hashing, flags, generated MP4 and JPEG."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from forensics.errors import ParameterError
from forensics.inputs import media_files
from forensics.media.metadata.probe import probe_many, probe_media


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def rotated_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1 s of 320x240 H.264, re-muxed with a 90-degree display matrix, a date and a place."""
    folder = tmp_path_factory.mktemp("mp4")
    plain, tagged = folder / "plain.mp4", folder / "tagged.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           "-g", "25", str(plain))
    ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", "-metadata", "creation_time=2020-05-01T12:00:00Z",
           "-metadata", "location=+12.3456+045.6789/", str(tagged))
    return tagged


@pytest.fixture(scope="module")
def edited_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JPEG whose EXIF says: saved by GIMP months after capture, GPS without a fix (0/0)."""
    path = tmp_path_factory.mktemp("jpg") / "edited.jpg"
    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Canon", "Canon EOS 5D", "GIMP 2.10.36"
    exif[0x0132] = "2021:01:02 10:00:00"
    exif.get_ifd(0x8769)[0x9003] = "2020:05:01 12:00:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (0.0, 0.0, 0.0), "E", (0.0, 0.0, 0.0)
    image.save(path, exif=exif, quality=90)
    return path


def test_generated_mp4(rotated_mp4: Path) -> None:
    record = probe_media(rotated_mp4)
    assert record.error is None
    assert record.media_type == "video" and record.detected_format == "video/mp4"
    assert record.sha256 == "sha256:" + hashlib.sha256(rotated_mp4.read_bytes()).hexdigest()
    assert record.captured_at == datetime(2020, 5, 1, 12, tzinfo=UTC)
    assert record.gps is not None and (record.gps.latitude_deg, record.gps.longitude_deg) == (12.3456, 45.6789)
    video = record.streams[0]
    assert (video.coded_width_px, video.coded_height_px) == (320, 240)
    # ffmpeg's -display_rotation 90 is counter-clockwise: a clockwise turn of 270.
    assert (video.rotation_cw_deg, video.display_width_px, video.display_height_px) == (270, 240, 320)
    assert (video.frame_count, video.frame_rate_avg_fps, video.variable_frame_rate) == (25, 25.0, False)
    assert record.container is not None and record.container.encoder.startswith("Lavf")
    assert [f.code for f in record.flags] == ["ffmpeg_written"]


def test_generated_jpeg_flags(edited_jpeg: Path) -> None:
    record = probe_media(edited_jpeg)
    assert record.error is None and record.media_type == "image"
    assert record.image is not None and (record.image.width_px, record.image.height_px) == (64, 48)
    assert (record.device.make, record.device.model, record.device.software) == ("Canon", "Canon EOS 5D",
                                                                                  "GIMP 2.10.36")
    assert record.captured_at == datetime(2020, 5, 1, 12)
    assert [f.code for f in record.flags] == ["editing_software", "datetime_modified", "gps_null_island"]
    assert record.raw["exif"]["GPS GPSLatitude"] == ["0", "0", "0"]


def test_a_given_digest_is_trusted_not_recomputed(edited_jpeg: Path) -> None:
    digest = "ab" * 32
    assert probe_media(edited_jpeg, sha256=digest).sha256 == f"sha256:{digest}"
    assert probe_media(edited_jpeg, sha256=f"sha256:{digest.upper()}").sha256 == f"sha256:{digest}"


def test_original_mtime_before_capture_is_flagged(edited_jpeg: Path) -> None:
    record = probe_media(edited_jpeg, fs_mtime_utc="2019-01-01T00:00:00Z")
    assert record.filesystem_modified_at == datetime(2019, 1, 1, tzinfo=UTC)
    assert "time_filesystem_mismatch" in [f.code for f in record.flags]


def test_the_file_own_mtime_is_used_by_default(edited_jpeg: Path) -> None:
    record = probe_media(edited_jpeg)
    expected = datetime.fromtimestamp(edited_jpeg.stat().st_mtime, tz=UTC)
    assert record.filesystem_modified_at == expected


@pytest.mark.parametrize("kwargs", [{"sha256": "not-a-digest"}, {"timeout_s": 0}, {"fs_mtime_utc": "yesterday"}])
def test_bad_arguments_raise_parameter_error(edited_jpeg: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        probe_media(edited_jpeg, **kwargs)  # type: ignore[arg-type]


def test_missing_file_and_folder_raise_parameter_error(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no such file"):
        probe_media(tmp_path / "absent.mp4")
    with pytest.raises(ParameterError, match="folder"):
        probe_media(tmp_path)


def test_a_fifo_gets_an_error_record_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "stalled.mp4"
    os.mkfifo(fifo)
    record = probe_media(fifo, timeout_s=5)
    assert "FIFO" in record.error and "not opened" in record.error and record.media_type == "other"


def test_text_is_other_without_error_and_an_empty_file_named_as_media_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("witness said the video was taken at noon\n" * 20)
    (tmp_path / "empty.jpg").write_bytes(b"")
    records = {Path(r.path).name: r for r in probe_many(media_files([tmp_path]))}
    assert records["notes.txt"].media_type == "other" and records["notes.txt"].error is None
    assert records["empty.jpg"].media_type == "other"  # no bytes, no media, whatever the name says
    assert records["empty.jpg"].error == "named .jpg but empty (0 bytes): nothing was received in it"
    assert records["empty.jpg"].sha256 == "sha256:" + hashlib.sha256(b"").hexdigest()


def test_truncated_mp4_is_an_error_record(rotated_mp4: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(rotated_mp4.read_bytes()[:600])
    record = probe_media(cut)
    assert record.media_type == "video" and record.error is not None
    assert record.sha256 is not None and record.size_bytes == 600


def test_media_files_lists_folders_recursively_hidden_files_too(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".h").mkdir()
    for name in ("a/1.jpg", "a/b/2.mp4", "a/.hidden.jpg", "3.mov", ".h/4.jpg"):
        (tmp_path / name).write_bytes(b"x")
    listed = [p.relative_to(tmp_path).as_posix() for p in media_files([tmp_path])]
    assert listed == ["3.mov", ".h/4.jpg", "a/.hidden.jpg", "a/1.jpg", "a/b/2.mp4"]
    # A path that does not exist is listed as it is: its reader makes it an error of its own.
    assert media_files([tmp_path / "nope", tmp_path / "3.mov"]) == [tmp_path / "nope", tmp_path / "3.mov"]


def test_a_folder_deeper_than_the_system_allows_is_an_entry_of_its_own_not_silence(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(22):  # 22 x 201 bytes: past PATH_MAX (4096), so made from within, one folder at a time
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("x.jpg", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)
    listed = media_files([tmp_path])
    assert listed, "a folder that could not be listed vanished without a word"
    records = list(probe_many(listed))
    assert any(r.error and "too long" in r.error.lower() for r in records)


def test_private_pool_of_one_worker(edited_jpeg: Path, rotated_mp4: Path) -> None:
    records = list(probe_many([edited_jpeg, rotated_mp4], workers=1))
    assert sorted(r.media_type for r in records) == ["image", "video"]


def test_batch_arguments_are_checked_before_the_first_record(tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        probe_many([tmp_path])  # raised at the call, not at the first next()


def test_a_file_gone_from_a_batch_is_an_error_record(tmp_path: Path) -> None:
    (record,) = probe_many([tmp_path / "gone.jpg"])
    assert record.error is not None and record.error.startswith("no such file")


def test_matroska_tags_are_read_in_their_own_upper_case(tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-c:v", "libx264", "-metadata",
           "DATE_RECORDED=2024-02-02 07:45:10", str(path))
    record = probe_media(path)
    assert record.captured_at == datetime(2024, 2, 2, 7, 45, 10)
    assert record.captured_at_source == "Matroska DATE_RECORDED"
    assert record.container is not None and record.container.encoder.startswith("Lavf")  # written as ENCODER
    assert "ffmpeg_written" in [f.code for f in record.flags]


def _box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


@pytest.mark.parametrize("boxes, error", [
    ((), None),  # no EXIF at all: nothing is wrong
    ((_box(b"brob", b"Exif" + bytes(40)),), "the EXIF is in a Brotli-compressed box (JPEG XL 'brob')"),
])
def test_a_boxed_jpeg_xl_says_why_its_exif_is_not_read_and_nothing_when_it_has_none(
        tmp_path: Path, boxes: tuple[bytes, ...], error: str | None) -> None:
    path = tmp_path / "still.jxl"
    signature = _box(b"JXL ", b"\r\n\x87\n")
    path.write_bytes(signature + _box(b"ftyp", b"jxl \x00\x00\x00\x00jxl ") + b"".join(boxes)
                     + _box(b"jxlc", b"\xff\x0a" + bytes(30)))
    record = probe_media(path)
    assert record.media_type == "image"
    if error is None:
        assert record.error is None
    else:
        assert record.error is not None and error in record.error


def test_a_tiff_with_only_the_tags_that_hold_its_picture_states_nothing(tmp_path: Path) -> None:
    plain, signed = tmp_path / "plain.tif", tmp_path / "signed.tif"
    picture = Image.fromarray(np.random.default_rng(3).integers(0, 255, size=(24, 32, 3), dtype=np.uint8))
    picture.save(plain)
    exif = Image.Exif()
    exif[0x010E] = "north ridge, 14:05"  # ImageDescription: a claim of its own
    picture.save(signed, exif=exif)
    record = probe_media(plain)
    assert record.raw.get("exif") and [f.code for f in record.flags] == ["no_metadata"]
    assert "no EXIF beyond the tags a TIFF needs" in record.flags[0].message
    assert "no_metadata" not in [f.code for f in probe_media(signed).flags]


def test_bytes_named_as_media_that_are_none_are_an_error_not_a_picture(tmp_path: Path) -> None:
    noise = bytes((n * 7919 + 13) % 251 for n in range(4096))
    for name in ("random.jpg", "random.mp4", "random.wav"):
        (tmp_path / name).write_bytes(noise)
    (tmp_path / "random.bin").write_bytes(noise)
    records = {Path(r.path).name: r for r in probe_many(media_files([tmp_path]))}
    for name in ("random.jpg", "random.mp4", "random.wav"):
        assert records[name].media_type == "other" and "no picture, video or recording" in records[name].error
    assert records["random.bin"].error is None  # a name that promises nothing


def test_a_picture_whose_pixels_differ_from_its_exif_size_is_flagged(tmp_path: Path) -> None:
    from PIL import Image

    from conftest import FIXTURES

    source = FIXTURES / "incident" / "photo" / "IMG_0001.jpg"
    with Image.open(source) as image:
        exif = image.info["exif"]  # says 640 x 480, as the pixels are
        image.crop((40, 30, 600, 450)).save(tmp_path / "cropped.jpg", exif=exif, quality=90)
        image.resize((1, 1)).save(tmp_path / "one_pixel.jpg", exif=exif)
        image.save(tmp_path / "resaved.jpg", exif=exif, quality=80)
    records = {Path(r.path).name: r for r in probe_many([tmp_path / n for n in ("cropped.jpg", "one_pixel.jpg", "resaved.jpg")])}
    for name, size in (("cropped.jpg", "560x420"), ("one_pixel.jpg", "1x1")):
        flag = next(f for f in records[name].flags if f.code == "exif_size_differs")
        assert "640x480" in flag.message and size in flag.message
    assert "exif_size_differs" not in {f.code for f in records["resaved.jpg"].flags}
    assert "exif_size_differs" not in {f.code for f in probe_media(source).flags}


def _gps_jpeg(path: Path, latitude: tuple, *, xmp_latitude: str | None = None) -> Path:
    """A JPEG whose EXIF GPS states `latitude` (three rationals, north) and 30 deg 30' east; an XMP position too when
    `xmp_latitude` is given."""
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", latitude, "E", (IFDRational(30, 1), IFDRational(30, 1), IFDRational(0, 1))
    extra = {}
    if xmp_latitude is not None:
        extra["xmp"] = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
                        'syntax-ns#"><rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
                        f'exif:GPSLatitude="{xmp_latitude}" exif:GPSLongitude="30,31.4E"/></rdf:RDF></x:xmpmeta>'
                        ).encode()
    Image.new("RGB", (64, 48), (120, 110, 90)).save(path, "JPEG", exif=exif, **extra)
    return path


def test_a_gps_rational_over_zero_is_flagged_as_a_position_that_cannot_be_read(tmp_path: Path) -> None:
    from PIL.TiffImagePlugin import IFDRational

    over_zero = (IFDRational(50, 0), IFDRational(1, 1), IFDRational(1, 1))
    record = probe_media(_gps_jpeg(tmp_path / "over-zero.jpg", over_zero))
    assert record.raw["exif"]["GPS GPSLatitude"][0] == "50/0" and record.gps is None
    [flag] = [f for f in record.flags if f.code == "gps_invalid"]
    assert flag.message == ("EXIF GPS states a position that cannot be read (GPSLatitude holds 50/0, a rational with "
                            "a zero denominator: not a number of degrees).")
    # Another block's position stands in, and the flag names it: the file states two positions, one unreadable.
    record = probe_media(_gps_jpeg(tmp_path / "over-zero-xmp.jpg", over_zero, xmp_latitude="50,27.006N"))
    assert record.gps is not None and record.gps.source == "XMP exif:GPSLatitude/GPSLongitude"
    [flag] = [f for f in record.flags if f.code == "gps_invalid"]
    assert flag.message.endswith("not a number of degrees). The position recorded is from "
                                 "XMP exif:GPSLatitude/GPSLongitude.")
    # 0/0, what a GPS chip without a fix writes, stays null island; 999 degrees stays an impossible position.
    zero = (IFDRational(0, 0), IFDRational(0, 0), IFDRational(0, 0))
    assert "gps_invalid" not in [f.code for f in probe_media(_gps_jpeg(tmp_path / "no-fix.jpg", zero)).flags]
    far = probe_media(_gps_jpeg(tmp_path / "999.jpg", (IFDRational(999, 1), IFDRational(0, 1), IFDRational(0, 1))))
    assert [f.message for f in far.flags if f.code == "gps_invalid"] == [
        "EXIF GPS gives an impossible position (999.0, 30.5)."]
