"""Ingest's frames, dedup and near-duplicates records, and the files derived with them, are those the code
made before one decoding pass fed both the scene scan and the dedup sampler (issue #23).

The digests below were taken from cases ingested by 0c3696c (two decoding passes per video, the
packet index read twice); a change that alters one byte of a record or of a stored frame fails here.
Metadata and audio records are left out: other work changes those on purpose.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import FIXTURES
from forensics.custody.signing import SigningKey
from forensics.incident import ingest

KINDS = ("frames", "dedup", "near-duplicates")


def analysis_digests(case: Path, incident: str) -> dict[str, str]:
    """Gives "NAME KIND" -> the first 16 hex digits of the SHA-256 of that record's bytes, and "NAME derived"
    -> that of the list of (path, SHA-256) of the item's derived frames, sheets and thumbnails."""
    manifest = json.loads((case / f"custody/manifests/{incident}.json").read_bytes())
    found = {}
    for item in manifest["items"]:
        name = min(r["name"] for r in item["received"])
        for kind in KINDS:
            if kind in item.get("records", {}):
                data = (case / item["records"][kind]["path"]).read_bytes()
                found[f"{name} {kind}"] = hashlib.sha256(data).hexdigest()[:16]
        # Audio fingerprints (.npz) belong to the audio step, which is not pinned here.
        derived = sorted((d["path"], hashlib.sha256((case / d["path"]).read_bytes()).hexdigest())
                         for d in item.get("derived", ()) if not d["path"].endswith(".npz"))
        if derived:
            found[f"{name} derived"] = hashlib.sha256(json.dumps(derived).encode()).hexdigest()[:16]
    return found


def test_fixture_records_and_derived_files_are_unchanged(tmp_path: Path, alice: SigningKey) -> None:
    case = Path(ingest([FIXTURES / "incident"], tmp_path / "case", key=alice).case)
    assert analysis_digests(case, "incident") == FIXTURES_DIGESTS


def test_real_footage_records_and_derived_files_are_unchanged(tmp_path: Path, alice: SigningKey,
                                                             shared_data: Path) -> None:
    case = Path(ingest([shared_data / "footage"], tmp_path / "case", key=alice).case)
    assert analysis_digests(case, "footage") == FOOTAGE_DIGESTS


FIXTURES_DIGESTS = {
    'photo/IMG_0001.jpg dedup': 'a0152e173db8e021',
    'photo/IMG_0001.jpg near-duplicates': '60fd27c16df31816',
    'photo/IMG_0001_edited.jpg dedup': '80ace1c383788b1c',
    'photo/IMG_0001_edited.jpg near-duplicates': 'f9c67b5eb4c4d566',
    'video/strike_excerpt.mp4 dedup': '67f94e9bc6c521b1',
    'video/strike_excerpt.mp4 derived': '0f6d1e6a3474da87',
    'video/strike_excerpt.mp4 frames': '61cb7e8053d4e1e3',
    'video/strike_excerpt.mp4 near-duplicates': '5139ac377c8e3ace',
    'video/strike_original.mp4 dedup': '791604faadc5a2cf',
    'video/strike_original.mp4 derived': 'fdd5965e91b6c8b4',
    'video/strike_original.mp4 frames': '3f38298a9ff02789',
    'video/strike_original.mp4 near-duplicates': '76aacc0e65ecb495',
    'video/strike_whatsapp.mp4 dedup': '54ea34f611b9514e',
    'video/strike_whatsapp.mp4 derived': '10ae3730df32ec9e',
    'video/strike_whatsapp.mp4 frames': '365ba400428e1587',
    'video/strike_whatsapp.mp4 near-duplicates': '71f77d5b620c68fa',
}

FOOTAGE_DIGESTS = {
    'asl_gestures/again.mkv dedup': 'b82e999a95c7f085',
    'asl_gestures/again.mkv derived': '049b249061844230',
    'asl_gestures/again.mkv frames': 'f09441450f4155b9',
    'asl_gestures/again.mkv near-duplicates': '209b4105f958f1cf',
    'asl_gestures/bird.mkv dedup': '493f468b7fd6d867',
    'asl_gestures/bird.mkv derived': '59d49a5ad3661cfb',
    'asl_gestures/bird.mkv frames': '923993a19ec31d76',
    'asl_gestures/bird.mkv near-duplicates': 'ea82ddcd2d9463de',
    'asl_gestures/book.mkv dedup': '30f3df8042f3a866',
    'asl_gestures/book.mkv derived': '6e62cf54371ccc13',
    'asl_gestures/book.mkv frames': '0c248d36cae2071d',
    'asl_gestures/book.mkv near-duplicates': 'b5fedfe5a90d8c76',
    'asl_gestures/brother.mkv dedup': '7e0398c2738081e3',
    'asl_gestures/brother.mkv derived': '0a2049e2be3732db',
    'asl_gestures/brother.mkv frames': '157d47d5179b7854',
    'asl_gestures/brother.mkv near-duplicates': 'e3e13fe786843b7d',
    'asl_gestures/eat.mkv dedup': '986d31ced227d64b',
    'asl_gestures/eat.mkv derived': 'af4605a637ecca68',
    'asl_gestures/eat.mkv frames': 'bd907a56a1cd9e8e',
    'asl_gestures/eat.mkv near-duplicates': 'dedd36ffc8e00d26',
    'asl_gestures/help.mkv dedup': 'f8fa5bbf9384d7a1',
    'asl_gestures/help.mkv derived': '02f4e520847a37e3',
    'asl_gestures/help.mkv frames': '0ce6f39ac4a11fdd',
    'asl_gestures/help.mkv near-duplicates': '2f03fa3894808210',
    'asl_gestures/hungry.mkv dedup': '8b1a78d134977513',
    'asl_gestures/hungry.mkv derived': '77f3f36339f9a87d',
    'asl_gestures/hungry.mkv frames': '6f8b67442b1580fa',
    'asl_gestures/learn.mkv dedup': '3221e7a1cf088941',
    'asl_gestures/learn.mkv derived': '895c35943394d2a5',
    'asl_gestures/learn.mkv frames': 'b43f1e035029b0c6',
    'asl_gestures/learn.mkv near-duplicates': 'a0a506b921519676',
    'asl_gestures/milk.mkv dedup': '0cc9b74434ecd04a',
    'asl_gestures/milk.mkv derived': '77060774a913018c',
    'asl_gestures/milk.mkv frames': 'f2b2980d369ed78c',
    'asl_gestures/milk.mkv near-duplicates': '93a0a751364c0368',
    'asl_gestures/night.mkv dedup': '6e2707bee9214eee',
    'asl_gestures/night.mkv derived': '7dfba72b07eae17c',
    'asl_gestures/night.mkv frames': 'ad5b765e5b955600',
    'asl_gestures/night.mkv near-duplicates': '384a4ed4b5074f76',
    'asl_gestures/no.mkv dedup': 'b1abd05d0f28dcfe',
    'asl_gestures/no.mkv derived': 'ac1f38c4340e7f07',
    'asl_gestures/no.mkv frames': '4d88b5f812800373',
    'asl_gestures/no.mkv near-duplicates': '0cf24db3fc0b47fd',
    'asl_gestures/please.mkv dedup': '6a4daa103dbb6443',
    'asl_gestures/please.mkv derived': '9b944ca8cd049308',
    'asl_gestures/please.mkv frames': 'a9704f9df63dce4d',
    'asl_gestures/please.mkv near-duplicates': 'c646dbd451c1dfa5',
    'asl_gestures/school.mkv dedup': 'ba967133c275a932',
    'asl_gestures/school.mkv derived': '7aaec14d3b57bd0e',
    'asl_gestures/school.mkv frames': '16833a508558a854',
    'asl_gestures/school.mkv near-duplicates': '8edb9153c0e83e29',
    'asl_gestures/sister.mkv dedup': 'fda43b9c7072e2bc',
    'asl_gestures/sister.mkv derived': 'cf86892f2fa8c08f',
    'asl_gestures/sister.mkv frames': 'bb955ca55d319054',
    'asl_gestures/sister.mkv near-duplicates': 'abdf4d59846ca48c',
    'asl_gestures/sorry.mkv dedup': 'dcdbcec0555f2206',
    'asl_gestures/sorry.mkv derived': '76113ebf7aadd344',
    'asl_gestures/sorry.mkv frames': '738bac463061349a',
    'asl_gestures/sorry.mkv near-duplicates': '3418e49daba0aa4b',
    'asl_gestures/student.mkv dedup': '692d0bab8fe46df4',
    'asl_gestures/student.mkv derived': '9e4124f8b16c04e5',
    'asl_gestures/student.mkv frames': '48a127c71c7f6669',
    'asl_gestures/student.mkv near-duplicates': 'a8d427b6e598cd59',
    'asl_gestures/thanks.mkv dedup': '3c1df48bc3589e81',
    'asl_gestures/thanks.mkv derived': 'a56fd3450bad9bf8',
    'asl_gestures/thanks.mkv frames': 'f257c9b365d7c1f8',
    'asl_gestures/thanks.mkv near-duplicates': '3c26d6a55bef03b2',
    'asl_gestures/walk.mkv dedup': '4d8901de07233b52',
    'asl_gestures/walk.mkv derived': 'c7b66d0030b2f879',
    'asl_gestures/walk.mkv frames': '8ea6e3726c235370',
    'asl_gestures/walk.mkv near-duplicates': '42fe124085ebbd24',
    'asl_gestures/want.mkv dedup': '576e46875ac0b027',
    'asl_gestures/want.mkv derived': '2a1c95ae4b734edf',
    'asl_gestures/want.mkv frames': '6fb68cd602c8f5b0',
    'asl_gestures/want.mkv near-duplicates': '1ca6401477bbd7f9',
    'asl_gestures/yes.mkv dedup': '3088a67cc76b56af',
    'asl_gestures/yes.mkv derived': '23889bd4af44e7cc',
    'asl_gestures/yes.mkv frames': 'd8d3806f8eeab8bf',
    'asl_gestures/yes.mkv near-duplicates': '5d2db51314272ea8',
    'bottle-detection.mp4 dedup': 'e560380b8ff2e722',
    'bottle-detection.mp4 derived': 'c949e47268b1e6f4',
    'bottle-detection.mp4 frames': '4cca5ecefa542445',
    'car-detection.mp4 dedup': 'ba59cb7965edacd7',
    'car-detection.mp4 derived': 'cd18868f8828645f',
    'car-detection.mp4 frames': 'fc16d9f749898910',
    'preview/classroom.gif dedup': '8640f82560a34633',
    'preview/head-pose-face-detection-male.gif dedup': '130ddb5b67562289',
    'preview/people-detection.gif dedup': 'c8e1d4f6985720b4',
    'preview/store-aisle-detection.gif dedup': 'ed3e7848fb034c69',
    'preview/worker-zone-detection.gif dedup': '442735ce2b7b77f2',
}
