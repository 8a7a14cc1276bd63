"""Capture time, make, model and GPS from makers' own blocks, pinned on the real files of ../shared/data.

Each value is what ExifTool 12.57 reads from the same file (`exiftool -j -n`), except
where the test says why probe reads it differently.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from conftest import SHARED_DATA
from forensics.media.metadata.probe import probe_many
from forensics.media.metadata.record import MediaRecord

ET = "exiftool/t/images"
MEI = "metadata-extractor-images"
PY = "exif-py/tests/resources/jpg"

# name: (file, capture time, its source, make, model)
EXPECTED = {
    "reconyx": (f"{PY}/Reconyx_HC500_Hyperfire.jpg", datetime(2020, 3, 16, 10, 0, 0),
                "Reconyx HyperFire maker note DateTimeOriginal", None, None),
    "olympus_picture_info": (f"{PY}/exif-org/olympus-d320l.jpg", datetime(1998, 10, 29, 22, 6, 59),
                             "Olympus PictureInfo (JPEG APP12) DateTimeOriginal", None, None),
    "canon_ciff_jpeg": (f"{PY}/exif-org/sony-powershota5.jpg", datetime(2000, 10, 27, 22, 56, 26),
                        "Canon CIFF (JPEG APP0) DateTimeOriginal", "Canon", "Canon PowerShot A5"),
    "casio_qvci": (f"{ET}/CasioQVCI.jpg", datetime(1998, 10, 24, 12, 8, 57),
                   "Casio QVCI (JPEG APP1) DateTimeOriginal", None, None),
    "iptc_date_time": (f"{ET}/PhotoMechanic.jpg",
                       datetime(2006, 10, 29, 6, 27, 51, tzinfo=timezone(-timedelta(hours=5))),
                       "IPTC DateCreated + TimeCreated", None, None),
    "flir_vue": (f"{MEI}/jpg/FLIR Vue Pro 640.jpg",
                 datetime(2016, 6, 27, 15, 29, 42, 41000, tzinfo=timezone(-timedelta(hours=4))),
                 "FLIR FFF (JPEG APP1) DateTimeOriginal", "FLIR", None),
    "avchd_canon": (f"{ET}/M2TS.mts", datetime(2008, 12, 31, 23, 16, 24, tzinfo=timezone(timedelta(hours=1))),
                    "AVCHD MDPM (H.264 SEI) DateTimeOriginal", "Canon", None),
    "avchd_sony": (f"{MEI}/mts/Sony ILCE-7M3 (A7M3).mts",
                   datetime(2019, 4, 24, 22, 24, 0, tzinfo=timezone(timedelta(hours=2))),
                   "AVCHD MDPM (H.264 SEI) DateTimeOriginal", "Sony", "ILCE-7M3"),
    "matroska_date_utc": (f"{ET}/Matroska.mkv", datetime(2010, 2, 3, 21, 17, 48, tzinfo=UTC),
                          "Matroska Info creation time", None, None),
    "mp4_udta_date": (f"{MEI}/mp4/Issue 515 (java).mp4",
                      datetime(2020, 11, 20, 15, 4, 2, tzinfo=timezone(timedelta(hours=1))),
                      "QuickTime user data (udta) DateTimeOriginal", None, None),
    # ExifTool 12.57 reads 12:14:00: its RIFF date pattern for Casio's "2001/ 1/27  1:42PM" drops the seconds.
    "avi_idit": (f"{ET}/Pentax.avi", datetime(2009, 10, 27, 12, 14, 34), "RIFF AVI chunks DateTimeOriginal",
                 None, None),
    "wav_exif": (f"{ET}/RIFF.wav", datetime(2005, 8, 8, 16, 23, 35), "RIFF WAVE chunks ICRD + etim",
                 "PENTAX Corporation", "PENTAX Optio WP"),
    "dv_packs": (f"{ET}/DV.dv", datetime(2010, 2, 16, 21, 36, 28),
                 "DV VAUX rec date/time packs DateTimeOriginal", None, None),
    "canon_crw": (f"{ET}/CanonRaw.crw", datetime(2003, 11, 10, 17, 39, 26), "Canon CIFF (CRW) DateTimeOriginal",
                  "Canon", "Canon EOS DIGITAL REBEL"),
    "bpg_exif": (f"{ET}/BPG.bpg", datetime(2003, 10, 31, 15, 44, 19), "EXIF DateTimeOriginal",
                 "Canon", "Canon EOS DIGITAL REBEL"),
    "minolta_mrw": (f"{ET}/Minolta.mrw", datetime(2004, 11, 18, 23, 14, 58), "EXIF DateTimeOriginal",
                    "Konica Minolta Camera, Inc.", "DiMAGE A2"),
    "sigma_sd10": (f"{ET}/Sigma.x3f", datetime(2001, 1, 1, 0, 36, 35), "Sigma X3F properties DateTimeOriginal",
                   "SIGMA", "SIGMA SD10"),
    "sigma_dp2": (f"{ET}/SigmaDP2.x3f", datetime(2009, 11, 28, 13, 5, 20), "EXIF DateTimeOriginal",
                  "SIGMA", "SIGMA DP2"),
    "kyocera": (f"{ET}/KyoceraRaw.raw", datetime(2005, 7, 16, 18, 14, 30), "Kyocera RAW header DateTimeOriginal",
                "KYOCERA", "N DIGITAL"),
    "capture_one_eip": (f"{ET}/CaptureOne.eip", datetime(2009, 4, 3, 15, 15, 20), "EXIF DateTimeOriginal",
                        "Phase One A/S", "P65+"),
    "flir_fpf": (f"{ET}/FLIR.fpf", datetime(2013, 2, 22, 11, 19, 20, 891000), "FLIR FPF header DateTimeOriginal",
                 None, None),
    "lytro": (f"{ET}/Lytro.lfp", datetime(2012, 4, 12, 14, 10, 55, tzinfo=UTC), "Lytro LFP metadata DateTimeOriginal",
              "Lytro, Inc.", "F01"),
    "sony_pmp": (f"{ET}/Sony.pmp", datetime(1998, 9, 1, 20, 19, 57), "Sony PMP header DateTimeOriginal",
                 "Sony", "DSC-F1"),
    "olympus_dss": (f"{ET}/Olympus.dss", datetime(2005, 11, 16, 13, 52, 42), "Olympus DSS header DateTimeOriginal",
                    None, "DS2300"),
    "moi": (f"{ET}/MOI.moi", datetime(2011, 5, 15, 17, 58, 48), "MOI header DateTimeOriginal", None, None),
    "red_r3d": (f"{ET}/Red.r3d", datetime(2016, 1, 18, 21, 35, 55), "RED R3D header DateTimeOriginal",
                None, "S-WEAPON"),
    "miff_exif": (f"{ET}/MIFF.miff", datetime(2001, 5, 19, 18, 36, 41), "EXIF DateTimeOriginal",
                  "FUJIFILM", "FinePix2400Zoom"),
    "pdf_exif": (f"{ET}/PDF.pdf", datetime(2001, 5, 19, 18, 36, 41), "EXIF DateTimeOriginal",
                 "FUJIFILM", "FinePix2400Zoom"),
    # ExifTool's own RDF export (`exiftool -X`) of Nikon.jpg: ExifTool reads its tags back as the file's.
    "exiftool_rdf": (f"{ET}/XMP.xml", datetime(2001, 8, 1, 12, 57, 23),
                     "ExifTool RDF export of 't/images/Nikon.jpg' DateTimeOriginal", "NIKON", "E775"),
}
EXTRA = {"flir_iphone": f"{MEI}/jpg/FLIR iPhone device.jpg", "exiftool_jpg": f"{ET}/ExifTool.jpg",
         "quicktime_pentax": f"{ET}/QuickTime.mov", "jxl": "exif-py/tests/resources/jxl/test_0001.jxl"}


@pytest.fixture(scope="module")
def records() -> dict[str, MediaRecord]:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real media are not here ({SHARED_DATA.resolve()}); see ../shared/data/README.md")
    files = {name: spec[0] for name, spec in EXPECTED.items()} | EXTRA
    by_path = {str(SHARED_DATA / rel): name for name, rel in files.items()}
    return {by_path[r.path]: r for r in probe_many([SHARED_DATA / rel for rel in files.values()])}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_time_make_model(records: dict[str, MediaRecord], name: str) -> None:
    _, captured, source, make, model = EXPECTED[name]
    r = records[name]
    assert (r.captured_at, r.captured_at_source) == (captured, source)
    assert (r.device.make, r.device.model) == (make, model)
    json.dumps(r.to_json(), allow_nan=False)  # what the blocks add to raw stays canonical JSON
    assert "blocks_disagree" not in [f.code for f in r.flags]  # only ExifTool.jpg mixes two cameras' blocks


def test_flir_gps_applies_its_west_reference(records: dict[str, MediaRecord]) -> None:
    r = records["flir_iphone"]
    assert r.gps is not None and r.gps.source == "FLIR FFF (JPEG APP1) GPS"
    # The record stores 118.254 with "W" beside it (ExifTool -n prints the bare 118.254): Los Angeles.
    assert (round(r.gps.latitude_deg, 6), round(r.gps.longitude_deg, 6)) == (34.075426, -118.254268)
    assert r.captured_at == datetime(2021, 5, 16, 12, 27, 36, 107000, tzinfo=timezone(-timedelta(hours=7)))


def test_conflicting_blocks_are_both_kept_and_flagged(records: dict[str, MediaRecord]) -> None:
    r = records["exiftool_jpg"]
    # EXIF comes first (as in every other file); the CIFF block ExifTool prefers is kept and named in a flag.
    assert (r.device.make, r.device.model) == ("FUJIFILM", "FinePix2400Zoom")
    assert r.captured_at == datetime(2001, 5, 19, 18, 36, 41)
    blocks = {b["block"]: b["fields"] for b in r.raw["vendor"]}
    assert blocks["Canon CIFF (JPEG APP0)"]["Model"] == "Canon PowerShot A5"
    assert blocks["Olympus PictureInfo (JPEG APP12)"]["DateTimeOriginal"] == "1998:12:31 15:17:20"
    flag = next(f for f in r.flags if f.code == "blocks_disagree")
    assert "Canon CIFF (JPEG APP0) names make 'Canon', not 'FUJIFILM'" in flag.message
    assert "1998:05:01 21:33:18" in flag.message


def test_avi_idit_is_a_local_capture_time_not_a_utc_container_time(records: dict[str, MediaRecord]) -> None:
    r = records["avi_idit"]
    assert r.captured_at is not None and r.captured_at.tzinfo is None
    assert r.created_at is None and [t.source for t in r.times] == ["RIFF AVI chunks DateTimeOriginal"]


def test_pdf_xmp_packet_and_info_dictionary(records: dict[str, MediaRecord]) -> None:
    r = records["pdf_exif"]
    assert r.raw["xmp"]["photoshop:DateCreated"] == "2004-02-26"  # an old-style <x:xapmeta> packet
    assert r.created_at == datetime(2005, 7, 18, 14, 30, 45, tzinfo=timezone(-timedelta(hours=4)))
    assert r.created_at_source == "PDF Info dictionary creation time"
    info = next(b["fields"] for b in r.raw["vendor"] if b["block"] == "PDF Info dictionary")
    assert info["Producer"] == "Adobe Photoshop for Macintosh"


def test_pentax_quicktime_tags_and_jxl_exif_make(records: dict[str, MediaRecord]) -> None:
    assert records["quicktime_pentax"].device.make == "PENTAX DIGITAL CAMERA"
    jxl = records["jxl"]  # Make and Model sit in the EXIF sub-IFD, not IFD0
    assert (jxl.device.make, jxl.device.model) == ("Lab 308", "Smart Pilot Cam")
