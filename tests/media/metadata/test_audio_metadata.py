"""Capture times of audio recordings: Broadcast Wave bext, ID3 and Vorbis comments, each under its own name."""

from __future__ import annotations

import struct
import subprocess
from datetime import datetime
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from forensics.media.metadata.probe import probe_media


def ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def _bext(originator: str, date: str, time: str, samples_since_midnight: int, history: str) -> bytes:
    fixed = (b"Strike, north ridge".ljust(256, b"\x00") + originator.encode().ljust(32, b"\x00")
             + b"REF-0042".ljust(32, b"\x00") + date.encode() + time.encode()
             + struct.pack("<QH", samples_since_midnight, 1) + bytes(64 + 10 + 180))
    return fixed + history.encode()


def _wav(path: Path, *extra_chunks: bytes) -> Path:
    rate = 8000
    samples = (np.sin(np.arange(rate) * 2 * np.pi * 440 / rate) * 8000).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + _chunk(b"fmt ", fmt) + b"".join(extra_chunks) + _chunk(b"data", samples)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_a_field_recorders_bext_time_is_the_capture_time_on_its_local_clock(tmp_path: Path) -> None:
    # EBU Tech 3285 allows '-', '_', ':', ' ' or '.' between the fields; recorders use '-' and ':'.
    bext = _bext("ZOOM H5", "2024-03-05", "10-11-12", 10 * 3600 * 8000, "A=PCM,F=8000,W=16,M=mono\r\n")
    record = probe_media(_wav(tmp_path / "ZOOM0001.WAV", _chunk(b"bext", bext)))
    assert record.error is None and record.media_type == "audio"
    assert record.captured_at == datetime(2024, 3, 5, 10, 11, 12)  # no zone: the recorder's clock
    assert record.captured_at_source == "RIFF WAVE chunks bext OriginationDate + OriginationTime"
    assert record.created_at is None  # libavformat's creation_time here is bext's time of day alone
    [block] = record.raw["vendor"]
    fields = block["fields"]
    assert fields["bext Originator"] == "ZOOM H5" and fields["bext OriginatorReference"] == "REF-0042"
    assert fields["bext Description"] == "Strike, north ridge"
    assert fields["bext TimeReference"] == str(10 * 3600 * 8000)
    assert fields["bext CodingHistory"].startswith("A=PCM,F=8000,W=16,M=mono")
    assert "no_metadata" not in [f.code for f in record.flags]


def test_a_wav_with_no_chunks_but_sound_states_nothing(tmp_path: Path) -> None:
    record = probe_media(_wav(tmp_path / "plain.wav"))
    assert record.captured_at is None and record.times == ()
    assert [f.code for f in record.flags] == ["no_metadata"]


def _id3v23(*frames: tuple[bytes, str]) -> bytes:
    body = b"".join(kind + struct.pack(">IH", len(text) + 1, 0) + b"\x00" + text.encode("latin-1")
                    for kind, text in frames)
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + body


def test_an_mp3s_id3_recording_time_is_its_capture_time_and_not_called_utc(tmp_path: Path) -> None:
    sound = tmp_path / "sound.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=1", "-id3v2_version", "0", "-write_xing", "0", str(sound))
    path = tmp_path / "intercept.mp3"
    # ID3v2.3 splits the time: year (TYER), day and month (TDAT, DDMM), hour and minute (TIME, HHMM).
    path.write_bytes(_id3v23((b"TYER", "2024"), (b"TDAT", "0503"), (b"TIME", "1011")) + sound.read_bytes())
    record = probe_media(path)
    assert record.error is None and record.media_type == "audio"
    assert record.captured_at == datetime(2024, 3, 5, 10, 11)
    assert record.captured_at_source == "ID3 recording time (TDRC, or TYER + TDAT + TIME)"
    assert record.captured_at_utc is None and record.utc_offset is None
    assert not any("UTC by spec" in t.source for t in record.times)


def test_vorbis_comment_dates_are_read_from_the_ogg_stream(tmp_path: Path) -> None:
    vorbis, opus = tmp_path / "note.ogg", tmp_path / "voice.opus"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=1", "-c:a", "libvorbis", "-metadata:s:a:0", "DATE=2023-11-20T08:30:00",
           str(vorbis))
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=1", "-c:a", "libopus", "-metadata:s:a:0", "DATE=2023-11-20", str(opus))
    record = probe_media(vorbis)
    assert record.captured_at == datetime(2023, 11, 20, 8, 30)
    assert record.captured_at_source == "Vorbis comment DATE"
    # A day without a time of day is kept as stated, not chosen as an instant, and it is a claim all the same.
    dated = probe_media(opus)
    assert dated.captured_at is None
    assert [(t.source, t.text) for t in dated.times] == [("Vorbis comment DATE", "2023-11-20")]
    assert "no_metadata" not in [f.code for f in dated.flags]
