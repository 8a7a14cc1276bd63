"""Content Credentials (C2PA): the signed manifests phones, cameras, editors and image generators embed.

Read with c2pa-python (the reference implementation, c2pa-rs, underneath) offline: no remote manifest
is fetched and no certificate status is asked for over the network. What the file's manifest store
says becomes a `Credentials`: the active manifest's claim generator, signer and signing time, its
time-stamp, its actions (with their software agents and digital source types: how AI generation is
declared), its ingredients, and the validation result with its codes, as c2pa-rs gives them.

Trust is reported, not assumed: without trust anchors the signer is named and marked "unverified";
with a PEM file of anchors, c2pa-rs checks the signer's chain against them ("trusted" or
"untrusted"). A manifest that lives at a URL (a "cloud" manifest) is reported as not checked.
Runs in the reader worker (readers.py): c2pa-rs is native code, and a hostile file must cost only itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

# The digital source types (IPTC NewsCodes, which C2PA uses) that say a generator made the picture.
AI_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia",
                             "algorithmicMedia", "compositeSynthetic", "trainedAlgorithmicData"})
# Actions that make, open or publish a file without changing what it shows.
_NOT_EDITS = frozenset({"c2pa.created", "c2pa.opened", "c2pa.published", "c2pa.managed", "c2pa.unknown"})
# Codes about trust in the signer, not about the integrity of what was signed.
_TRUST_CODES = frozenset({"signingCredential.untrusted", "signingCredential.trusted", "timeStamp.untrusted",
                          "cawg.x509.credential.untrusted", "signingCredential.ocsp.skipped",
                          "signingCredential.ocsp.inaccessible"})
_MAX_LISTED = 50  # actions, ingredients and codes kept per list: a hostile manifest may hold thousands

State = Literal["none", "valid", "invalid", "trusted", "not_checked"]
Trust = Literal["unverified", "trusted", "untrusted"]


@dataclass(frozen=True, slots=True)
class Action:
    """One step the active manifest records."""

    action: str  # "c2pa.created", "c2pa.color_adjustments", ...
    software_agent: str | None
    digital_source_type: str | None  # the IPTC term's last part, e.g. "trainedAlgorithmicMedia"
    when: str | None


@dataclass(frozen=True, slots=True)
class Ingredient:
    """A file the active manifest says this one was made from."""

    title: str | None
    format: str | None
    relationship: str | None  # "parentOf", "componentOf", "inputTo"
    has_credentials: bool  # the ingredient came with its own manifest
    failures: tuple[str, ...]  # its validation failure codes


@dataclass(frozen=True, slots=True)
class Code:
    """One validation status c2pa-rs reported."""

    code: str  # e.g. "claimSignature.mismatch"
    explanation: str | None
    url: str | None  # which part of the manifest store it is about


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a file's Content Credentials say, and whether they hold."""

    state: State  # none: no manifest; not_checked: remote or unreadable; else c2pa-rs's validation state
    trust: Trust | None  # None when there is no signer to trust
    manifest: str | None = None  # the active manifest's label
    manifests: int = 0  # how many the store holds (earlier ones are the history)
    claim_generator: str | None = None
    title: str | None = None
    signer: str | None = None  # the signing certificate's common name
    issuer: str | None = None
    signing_alg: str | None = None
    signed_at: str | None = None  # the signing time the manifest states (time-stamped when time_stamp is set)
    time_stamp: str | None = None  # the time-stamp authority c2pa-rs validated the signing time with
    actions: tuple[Action, ...] = ()  # the first _MAX_LISTED; actions_total says how many there are
    ingredients: tuple[Ingredient, ...] = ()  # the first _MAX_LISTED; ingredients_total says how many
    actions_total: int = 0
    ingredients_total: int = 0
    # Over every action, listed or not: the digital source types of generated media, and the edits.
    ai_source_types: tuple[str, ...] = ()
    edits: tuple[str, ...] = ()
    failures: tuple[Code, ...] = ()  # the validation failures of the active manifest (trust ones included)
    informational: tuple[str, ...] = ()
    remote_url: str | None = None
    note: str | None = None  # why the credentials were not checked, or what c2pa-rs refused

    @property
    def integrity_failures(self) -> tuple[Code, ...]:
        """The failures that say something signed does not hold (not those about trust)."""
        return tuple(f for f in self.failures if f.code not in _TRUST_CODES)

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state, "trust": self.trust, "manifest": self.manifest, "manifests": self.manifests,
            "claim_generator": self.claim_generator, "title": self.title, "signer": self.signer,
            "issuer": self.issuer, "signing_alg": self.signing_alg, "signed_at": self.signed_at,
            "time_stamp": self.time_stamp,
            "actions": [{"action": a.action, "software_agent": a.software_agent,
                         "digital_source_type": a.digital_source_type, "when": a.when} for a in self.actions],
            "actions_total": self.actions_total, "ingredients_total": self.ingredients_total,
            "ai_source_types": list(self.ai_source_types), "edits": list(self.edits),
            "ingredients": [{"title": i.title, "format": i.format, "relationship": i.relationship,
                             "has_credentials": i.has_credentials, "failures": list(i.failures)}
                            for i in self.ingredients],
            "failures": [{"code": c.code, "explanation": c.explanation, "url": c.url} for c in self.failures],
            "informational": list(self.informational), "remote_url": self.remote_url, "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(
            state=data["state"], trust=data.get("trust"), manifest=data.get("manifest"),
            manifests=int(data.get("manifests") or 0), claim_generator=data.get("claim_generator"),
            title=data.get("title"), signer=data.get("signer"), issuer=data.get("issuer"),
            signing_alg=data.get("signing_alg"), signed_at=data.get("signed_at"), time_stamp=data.get("time_stamp"),
            actions=tuple(Action(a["action"], a.get("software_agent"), a.get("digital_source_type"), a.get("when"))
                          for a in data.get("actions") or ()),
            ingredients=tuple(Ingredient(i.get("title"), i.get("format"), i.get("relationship"),
                                         bool(i.get("has_credentials")), tuple(i.get("failures") or ()))
                              for i in data.get("ingredients") or ()),
            failures=tuple(Code(c["code"], c.get("explanation"), c.get("url")) for c in data.get("failures") or ()),
            informational=tuple(data.get("informational") or ()), remote_url=data.get("remote_url"),
            note=data.get("note"), actions_total=int(data.get("actions_total") or 0),
            ingredients_total=int(data.get("ingredients_total") or 0),
            ai_source_types=tuple(data.get("ai_source_types") or ()), edits=tuple(data.get("edits") or ()))


MAX_TRUST_ANCHORS_BYTES = 1 << 20  # c2pa-rs refuses longer settings; a trust list of roots is a few hundred KB


def checked_trust_anchors(pem: str) -> str:
    """Gives back `pem` when it holds one or more X.509 certificates and nothing unreadable, within the size c2pa-rs
    takes; raises ParameterError otherwise (a bad trust list must not read as damage in every file checked)."""
    from cryptography import x509

    from forensics.errors import ParameterError

    if len(pem.encode("utf-8", "surrogateescape")) > MAX_TRUST_ANCHORS_BYTES:
        raise ParameterError(f"the trust anchors are over {MAX_TRUST_ANCHORS_BYTES // 1024} KiB; give the roots only")
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ParameterError("the trust anchors hold no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as ex:
        raise ParameterError(f"the trust anchors are not all readable certificates ({ex})") from ex
    return pem


def supported(mime: str | None) -> bool:
    """Whether c2pa-rs reads manifests from files of this MIME type."""
    if not mime:
        return False
    import c2pa  # type: ignore[import-untyped]  # the native library loads in the reader worker only

    return mime in c2pa.Reader.get_supported_mime_types()


def read_credentials(path: Path, mime: str, trust_anchors_pem: str | None = None) -> Credentials:
    """Gives back the Content Credentials of the file at `path`, read as `mime` (from its content, not its name).

    No manifest gives state "none". A manifest c2pa-rs refuses (a format it cannot parse, an unknown
    algorithm, a pre-release manifest) gives "not_checked" with its reason, as does a remote one.
    """
    import c2pa  # type: ignore[import-untyped]  # the native library loads in the reader worker only

    verify: dict[str, Any] = {"remote_manifest_fetch": False, "ocsp_fetch": False,
                              "verify_trust": trust_anchors_pem is not None}
    settings: dict[str, Any] = {"verify": verify}
    if trust_anchors_pem is not None:
        settings["trust"] = {"trust_anchors": trust_anchors_pem}
    context = c2pa.Context(c2pa.Settings.from_dict(settings))
    with open(path, "rb") as fh:
        try:
            reader = c2pa.Reader(mime, fh, context=context)
        except c2pa.C2paError as ex:
            return _refused(ex)
        try:
            store = json.loads(reader.json())
        finally:
            reader.close()
    return credentials_from_store(store, trusted_check=trust_anchors_pem is not None)


def _refused(ex: Exception) -> Credentials:
    text = str(ex)
    kind = type(ex).__name__
    if "ManifestNotFound" in kind or text.startswith("ManifestNotFound"):
        return Credentials("none", None)
    if text.startswith("Remote:"):
        url = text.split("url ", 1)[-1].strip() if "url " in text else None
        return Credentials("not_checked", None, remote_url=url,
                           note="the manifest is kept at a URL and was not fetched (offline)")
    return Credentials("not_checked", None, note=f"c2pa-rs could not read the credentials: {text[:300]}")


def credentials_from_store(store: dict[str, Any], *, trusted_check: bool) -> Credentials:
    """Gives back the Credentials of a manifest store as c2pa-rs gives it (Reader.json())."""
    label = store.get("active_manifest")
    manifests = store.get("manifests") or {}
    manifest = manifests.get(label) or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = tuple(Code(str(c.get("code")), c.get("explanation"), c.get("url"))
                     for c in (results.get("failure") or store.get("validation_status") or [])[:_MAX_LISTED])
    informational = tuple(str(c.get("code")) for c in (results.get("informational") or [])[:_MAX_LISTED])
    success = {str(c.get("code")): c for c in results.get("success") or []}
    codes = {f.code for f in failures}
    raw_state = str(store.get("validation_state") or "").lower()
    state: State = "trusted" if raw_state == "trusted" else "invalid" if raw_state == "invalid" else "valid"
    trust: Trust = "unverified"
    if trusted_check:
        trust = "untrusted" if "signingCredential.untrusted" in codes else "trusted" \
            if state == "trusted" or "signingCredential.trusted" in success else "untrusted"
    signature = manifest.get("signature_info") or {}
    every = _actions(manifest)
    stamp = success.get("timeStamp.validated")
    deltas = {d.get("ingredientAssertionURI", ""): d for d in (store.get("validation_results") or {})
              .get("ingredientDeltas") or []}
    return Credentials(
        state=state, trust=trust, manifest=label, manifests=len(manifests),
        claim_generator=_generator(manifest), title=manifest.get("title"),
        signer=signature.get("common_name"), issuer=signature.get("issuer"), signing_alg=signature.get("alg"),
        signed_at=signature.get("time"),
        time_stamp=(str(stamp.get("explanation", "")).split(": ", 1)[-1] or None) if stamp else None,
        actions=every[:_MAX_LISTED], ingredients=_ingredients(manifest, deltas),
        actions_total=len(every), ingredients_total=len(manifest.get("ingredients") or ()),
        ai_source_types=tuple(sorted({a.digital_source_type for a in every
                                      if a.digital_source_type in AI_SOURCE_TYPES})),
        edits=tuple(dict.fromkeys(a.action for a in every if a.action not in _NOT_EDITS)),
        failures=failures, informational=informational)


def _generator(manifest: dict[str, Any]) -> str | None:
    if manifest.get("claim_generator"):
        return str(manifest["claim_generator"])
    info = manifest.get("claim_generator_info") or []
    parts = [f"{i.get('name')}/{i['version']}" if i.get("version") else str(i.get("name"))
             for i in info if isinstance(i, dict) and i.get("name")]
    return " ".join(parts) or None


def _actions(manifest: dict[str, Any]) -> tuple[Action, ...]:
    """Every action of every actions assertion (the caller lists the first few and counts them all)."""
    found: list[Action] = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for a in (assertion.get("data") or {}).get("actions") or []:
            if not isinstance(a, dict):
                continue
            agent = a.get("softwareAgent")
            if isinstance(agent, dict):
                agent = " ".join(str(agent[k]) for k in ("name", "version") if agent.get(k))
            source = a.get("digitalSourceType")
            found.append(Action(str(a.get("action")), str(agent) if agent else None,
                                str(source).strip().rstrip("/").rsplit("/", 1)[-1] if source else None,
                                str(a["when"]) if a.get("when") else None))
    return tuple(found)


def _ingredients(manifest: dict[str, Any], deltas: dict[str, Any]) -> tuple[Ingredient, ...]:
    found = []
    for i in (manifest.get("ingredients") or [])[:_MAX_LISTED]:
        label = i.get("label") or "c2pa.ingredient"
        delta = next((d for uri, d in deltas.items() if uri.endswith("/" + label)), None) if deltas else None
        failed = [str(c.get("code")) for c in ((delta or {}).get("validationDeltas") or {}).get("failure") or []]
        failed += [str(c.get("code")) for c in (i.get("validation_results") or {}).get("activeManifest", {})
                   .get("failure") or []] if isinstance(i.get("validation_results"), dict) else []
        found.append(Ingredient(i.get("title"), i.get("format"), i.get("relationship"),
                                bool(i.get("active_manifest")), tuple(dict.fromkeys(failed))))
    return tuple(found)
