"""The case as a CASE 1.x / UCO JSON-LD graph: files with their hashes, the log's actions, provenance records.

Made from the exported case (document.ExportedCase), redacted or not. Node ids are
UUIDs derived from the case id and what the node stands for (uuid5), so the
same case gives the same ids in every export and graphs of one case merge.

- every evidence item and derived file: uco-observable:File with a FileFacet
  (name as received, size) and a ContentDataFacet (SHA-256 and SHA-512);
- every custody log entry: case-investigation:InvestigativeAction with its
  performer (the actor's identity), instrument (this tool), start and end time,
  objects and results, and its entry hash and signature key in the description;
- every derived file: an "Extracted_From" relationship to its item; every GPS claim: a
  uco-location:Location with its coordinates, related to the file as a claim;
- every message or post that carried an item (from the exports received): uco-observable:Message with a
  MessageFacet (text, sent time when its zone is known, application), and an "Attached_To" relationship
  from the file to it; every item's Content Credentials: a uco-core:Annotation stating what they say
  and whether they validate, a claim of the file, not a finding;
- per item: a case-investigation:ProvenanceRecord with its exhibit number (E1.., as the reports number it);
- per incident: a case-investigation:ProvenanceRecord with the items received
  in it, and a case-investigation:Investigation holding the actions.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from forensics.custody.log import LogEntry
from forensics.report.document import TOOL_NAME, ExportedCase, ExportedItem

CONTEXT = {
    "kb": "urn:uuid:",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-location": "https://ontology.unifiedcyberontology.org/uco/location/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_NIL = uuid.UUID(int=0)


class _Ids:
    def __init__(self, case_id: str | None) -> None:
        self.base = uuid.uuid5(_NIL, f"forensics-case:{case_id}")

    def __call__(self, *parts: Any) -> str:
        return f"kb:{uuid.uuid5(self.base, '/'.join(map(str, parts)))}"


def _typed(kind: str, value: Any) -> dict[str, Any]:
    return {"@type": f"xsd:{kind}", "@value": value}


def _file(ids: _Ids, sha256: str, sha512: str, size: int, name: str, description: str) -> dict[str, Any]:
    return {
        "@id": ids("file", sha256), "@type": "uco-observable:File",
        "uco-core:description": description,
        "uco-core:hasFacet": [
            {"@id": ids("file-facet", sha256), "@type": "uco-observable:FileFacet",
             "uco-observable:fileName": name, "uco-observable:sizeInBytes": _typed("integer", size)},
            {"@id": ids("content-facet", sha256), "@type": "uco-observable:ContentDataFacet",
             "uco-observable:sizeInBytes": _typed("integer", size),
             "uco-observable:hash": [
                 {"@id": ids("hash", "sha256", sha256), "@type": "uco-types:Hash",
                  "uco-types:hashMethod": "SHA256", "uco-types:hashValue": _typed("hexBinary", sha256)},
                 {"@id": ids("hash", "sha512", sha512), "@type": "uco-types:Hash",
                  "uco-types:hashMethod": "SHA512", "uco-types:hashValue": _typed("hexBinary", sha512)},
             ]},
        ],
    }


def case_uco_graph(case: ExportedCase) -> dict[str, Any]:
    """Gives the JSON-LD graph of the exported case."""
    ids = _Ids(case.case_id)
    graph: list[dict[str, Any]] = []
    tool_id = ids("tool", TOOL_NAME, case.tool_version)
    graph.append({"@id": tool_id, "@type": "uco-tool:Tool", "uco-core:name": TOOL_NAME,
                  "uco-tool:version": case.tool_version, "uco-tool:toolType": "custody and analysis"})
    known: set[str] = set()
    for item in case.exhibits:
        names = item.names
        stored = item.stored
        graph.append(_file(ids, stored.sha256, stored.sha512, stored.size, names[0] if names else stored.sha256,
                           f"evidence item ({item.media_type}), received as: " + "; ".join(names)))
        known.add(stored.sha256)
        if item.exhibit:
            graph.append({"@id": ids("exhibit", stored.sha256), "@type": "case-investigation:ProvenanceRecord",
                          "case-investigation:exhibitNumber": item.exhibit,
                          "uco-core:description": "the item's exhibit number in this case's reports and exports",
                          "uco-core:object": [{"@id": ids("file", stored.sha256)}]})
        graph.extend(_place(ids, item))
        graph.extend(_messages(ids, item))
        graph.extend(_credentials(ids, item))
        for derived in item.derived:
            made = derived.stored
            if made.sha256 not in known:
                known.add(made.sha256)
                graph.append(_file(ids, made.sha256, made.sha512, made.size, made.path.rsplit("/", 1)[-1],
                                   f"derived by {derived.operation} from sha256 {stored.sha256}"))
            graph.append({"@id": ids("extracted", made.sha256, stored.sha256),
                          "@type": "uco-observable:ObservableRelationship",
                          "uco-core:source": {"@id": ids("file", made.sha256)},
                          "uco-core:target": {"@id": ids("file", stored.sha256)},
                          "uco-core:kindOfRelationship": "Extracted_From",
                          "uco-core:isDirectional": _typed("boolean", True),
                          "uco-core:description": f"made by {derived.operation}"})
    actors = {}
    actions_by_incident: dict[str | None, list[str]] = {}
    for entry in case.custody_log:
        actor = entry.actor
        if actor not in actors:
            actors[actor] = ids("identity", actor)
            graph.append({"@id": actors[actor], "@type": "uco-identity:Identity", "uco-core:name": actor})
        action_id = ids("action", entry.seq)
        # The log's objects are its own JSON (the files acted on, each with its digests and role).
        objects = [ids("file", o["sha256"]) for o in entry.objects
                   if o.get("sha256") in known and o.get("role") in ("source", "original")]
        results = [ids("file", o["sha256"]) for o in entry.objects
                   if o.get("sha256") in known and o.get("role") == "derived"]
        if entry.action == "received" and entry.result == "ok":
            objects, results = [], [ids("file", o["sha256"]) for o in entry.objects if o.get("sha256") in known]
        action: dict[str, Any] = {"@id": action_id, "@type": "case-investigation:InvestigativeAction",
                  "uco-core:name": entry.action,
                  "uco-core:description": _describe(entry),
                  "uco-action:performer": {"@id": actors[actor]},
                  "uco-action:instrument": {"@id": tool_id},
                  "uco-action:startTime": _typed("dateTime", entry.time),
                  "uco-action:endTime": _typed("dateTime", entry.time)}
        if objects:
            action["uco-action:object"] = [{"@id": i} for i in objects]
        if results:
            action["uco-action:result"] = [{"@id": i} for i in results]
        graph.append(action)
        actions_by_incident.setdefault(entry.incident, []).append(action_id)
    for incident in case.incidents:
        received = [ids("file", i.sha256) for i in case.exhibits if any(r.incident == incident for r in i.receipts)]
        graph.append({"@id": ids("provenance", incident), "@type": "case-investigation:ProvenanceRecord",
                      "uco-core:description": f"the evidence items received in incident {incident}",
                      "case-investigation:exhibitNumber": incident,
                      "uco-core:object": [{"@id": i} for i in received]})
    graph.append({"@id": ids("investigation"), "@type": "case-investigation:Investigation",
                  "uco-core:name": ", ".join(case.incidents) or str(case.case_id),
                  "uco-core:description": f"forensics case {case.case_id}"
                                          + (" (redacted export)" if case.redaction is not None else ""),
                  "case-investigation:focus": ["verification of evidence of attacks on civilians"],
                  "uco-core:object": [{"@id": a} for ids_ in actions_by_incident.values() for a in ids_]
                  + [{"@id": ids("provenance", i)} for i in case.incidents]})
    return {"@context": CONTEXT, "@graph": graph}


def _place(ids: _Ids, item: ExportedItem) -> list[dict[str, Any]]:
    """Gives the position an item's metadata claims, as a Location and the relationship that names the claim."""
    gps = item.metadata.gps if item.metadata is not None else None
    if gps is None or not gps.has_position:
        return []
    facet: dict[str, Any] = {"@id": ids("lat-long", item.sha256), "@type": "uco-location:LatLongCoordinatesFacet",
                             "uco-location:latitude": _typed("decimal", repr(float(gps.latitude_deg))),
                             "uco-location:longitude": _typed("decimal", repr(float(gps.longitude_deg)))}
    if gps.altitude_m is not None and math.isfinite(gps.altitude_m):
        facet["uco-location:altitude"] = _typed("decimal", repr(float(gps.altitude_m)))
    location = ids("location", item.sha256)
    return [{"@id": location, "@type": "uco-location:Location", "uco-core:hasFacet": [facet],
             "uco-core:description": f"position claimed by the file's {gps.source or 'metadata'} (WGS 84)"},
            {"@id": ids("claims-location", item.sha256), "@type": "uco-core:Relationship",
             "uco-core:source": {"@id": ids("file", item.sha256)}, "uco-core:target": {"@id": location},
             "uco-core:kindOfRelationship": "Claimed_Location", "uco-core:isDirectional": _typed("boolean", True),
             "uco-core:description": "a claim of the file's metadata, not a verified finding"}]


def _describe(entry: LogEntry) -> str:
    text = (f"custody log entry {entry.seq} ({entry.result}), entry hash {entry.line_hash}, "
            f"signed by key {entry.key_id} on host {entry.host}")
    if entry.incident:
        text += f", incident {entry.incident}"
    details = entry.details or {}  # the log's own JSON: what each action states differs
    name = details.get("name")
    if isinstance(name, Mapping):
        text += f", name as received: {name.get('name')}"
    for label in ("operation", "kind", "reason", "format"):
        if details.get(label):
            text += f", {label}: {details[label]}"
    return text


def _messages(ids: _Ids, item: ExportedItem) -> list[dict[str, Any]]:
    """Gives each message that carried the item, and the relationship that attaches the file to it."""
    nodes: list[dict[str, Any]] = []
    for carrier in item.carriers:
        m = carrier.message
        key = (m.export, m.chat or "", m.message_id or m.line)
        message = ids("message", *key)
        facet: dict[str, Any] = {"@id": ids("message-facet", *key), "@type": "uco-observable:MessageFacet",
                                 "uco-observable:messageText": m.text or "",
                                 "uco-observable:messageType": m.kind or "message"}
        if m.message_id:
            facet["uco-observable:messageID"] = str(m.message_id)
        sent = m.sent
        if sent is not None and sent.at:
            facet["uco-observable:sentTime"] = _typed("dateTime", sent.at)
        at = None if sent is None else sent.at or (f"{sent.local} (zone unknown)" if sent.local else None)
        said = "; ".join(f"{label} {value}" for label, value in (
            ("sent by", m.sender), ("in", m.chat), ("forwarded from", m.forwarded_from), ("at", at),
            ("published at", m.url)) if value)
        nodes.append({"@id": message, "@type": "uco-observable:Message", "uco-core:hasFacet": [facet],
                      "uco-core:description": f"{m.source} {m.kind or 'message'} in export {m.export}"
                                              + (f": {said}" if said else "")})
        nodes.append({"@id": ids("attached-to", item.sha256, *key), "@type": "uco-observable:ObservableRelationship",
                      "uco-core:source": {"@id": ids("file", item.sha256)}, "uco-core:target": {"@id": message},
                      "uco-core:kindOfRelationship": "Attached_To", "uco-core:isDirectional": _typed("boolean", True),
                      "uco-core:description": f"the message names {carrier.named_path}"
                                              + (" (a file with these very bytes)" if carrier.by == "same-bytes"
                                                 else "")})
    return nodes


def _credentials(ids: _Ids, item: ExportedItem) -> list[dict[str, Any]]:
    """Gives the item's Content Credentials as an annotation of its file, when it has any."""
    c = item.metadata.provenance if item.metadata is not None else None
    if c is None or c.state == "none":
        return []
    if c.state == "not_checked":
        statement = f"Content Credentials not checked: {c.note or ''} {c.remote_url or ''}".strip()
    else:
        actions = ", ".join(a.action + (f" ({a.digital_source_type})" if a.digital_source_type else "")
                            for a in c.actions)
        failures = ", ".join(f.code for f in c.failures)
        statement = (f"Content Credentials {c.state}; signed by {c.signer} (issuer {c.issuer}, "
                     f"trust {c.trust}) at {c.signed_at}; made with {c.claim_generator}; "
                     f"actions: {actions or 'none'}" + (f"; failures: {failures}" if failures else ""))
    return [{"@id": ids("credentials", item.sha256), "@type": "uco-core:Annotation",
             "uco-core:statement": statement, "uco-core:object": [{"@id": ids("file", item.sha256)}],
             "uco-core:description": "what the file's C2PA manifest claims, read offline by c2pa-rs: a claim of the "
                                     "file, not a verified finding"}]
