"""What the pairs of a collection say together: `settle()` the matches compare() found one pair at a time.

Pair by pair, a photo can look like a frame of several videos of one scene, and a stretch of
a compilation like several takes of one room. Over the collection:

- a photo belongs to the recording it fits best (the thumbnails' fit, then hash bits) and to
  the videos that hold that moment of it; its other matches become scene leads, and two photos
  whose recordings differ are not one picture (`_photo_takes_closest`), unless the files checked at
  full size showed the pair to be one picture (`unexplained_change`): the thumbnails do not overrule them;
- a stretch that one video holds whole came from that video: an alike rival (not a copy of it)
  claiming the same stretch is a lead (`_one_source_per_stretch`);
- a photo proven in a video is in that video's strong copies at the same moment, and two photos
  proven at one moment of a recording are one picture (`_photos_through_copies`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from forensics.dedup.align import PairMatch, SceneMatch
from forensics.dedup.hashes import HASH_BITS


def settle(matches: list[PairMatch], scenes: list[SceneMatch],
           kinds: dict[str, str]) -> tuple[list[PairMatch], list[SceneMatch]]:
    """Gives the matches and scene leads of a collection once what they say together is applied; kinds: key -> kind."""
    matches, demoted = _photo_takes_closest(matches, scenes, kinds)
    scenes = scenes + demoted
    # Two files look alike only if the index paired them and they came out a scene match.
    alike = {frozenset((s.a, s.b)) for s in scenes}
    matches, lost = _one_source_per_stretch(matches, lambda x, y: frozenset((x, y)) in alike)
    return _photos_through_copies(matches, scenes + lost, kinds)


def _photo_in_video(match: PairMatch | SceneMatch, kinds: dict[str, str]) -> bool:
    return match.kind == "image" and kinds[match.a] != kinds[match.b]


def _photo_and_video(match: PairMatch | SceneMatch, kinds: dict[str, str]) -> tuple[str, str]:
    """Gives (photo key, video key) of a photo-and-video pair."""
    return (match.b, match.a) if kinds[match.a] == "video" else (match.a, match.b)


def _photo_takes_closest(matches: list[PairMatch], scenes: list[SceneMatch],
                         kinds: dict[str, str]) -> tuple[list[PairMatch], list[SceneMatch]]:
    """Gives the matches with each photo kept only in its closest recording, and the matches it lost as scene leads.

    A photo's closest recording is the video whose frame is nearest (hash bits, then the
    thumbnails' fit). Another video keeps the photo only if it holds that very moment of the
    closest one (a copy, an excerpt, a compilation's stretch of it). Two photos whose closest
    recordings differ, and do not hold each other's moment, are not one picture either.
    """
    # video -> other video -> shared stretches, (start, end) in the video, then in the other
    spans: dict[str, dict[str, list[tuple[float, float, float, float]]]] = {}
    strong: set[tuple[str, str]] = set()
    for m in matches:
        if m.kind == "video" and m.confidence != "weak":
            for a0, a1, b0, b1 in m.segments:
                spans.setdefault(m.a, {}).setdefault(m.b, []).append((a0, a1, b0, b1))
                spans.setdefault(m.b, {}).setdefault(m.a, []).append((b0, b1, a0, a1))
            if m.confidence == "strong":
                strong |= {(m.a, m.b), (m.b, m.a)}
    # Where each photo comes closest in each video, whether that made a match or only a lead.
    spots: dict[str, dict[str, tuple[float, float, float]]] = {}  # photo -> video -> (bits, fit, time)
    every: list[PairMatch | SceneMatch] = [*matches, *scenes]
    for near in every:
        if _photo_in_video(near, kinds) and near.distance_bits is not None:
            photo, video = _photo_and_video(near, kinds)
            when = near.a_start_s if isinstance(near, PairMatch) and video == near.a else \
                near.b_start_s if isinstance(near, PairMatch) else (near.a_time_s if video == near.a else near.b_time_s)
            fit = near.moment_fit if near.moment_fit is not None else float(HASH_BITS)
            if when is not None:
                spots.setdefault(photo, {})[video] = (near.distance_bits, fit, when)
    home: dict[str, tuple[str, float]] = {}  # photo -> (closest video, time in it)
    for photo, seen in spots.items():
        # The thumbnails' fit first: hash bits are too coarse to tell two moments of a still street.
        video, (_bits, _fit, when) = min(seen.items(), key=lambda kv: (kv[1][1], kv[1][0]))
        home[photo] = (video, when)

    def holders(photo: str) -> dict[str, float]:
        """Gives the videos that hold the photo's moment of its closest recording, with the moment in each.

        The closest recording does; so does a video sharing a stretch with a holder that holds
        the moment well inside, or holds it at all (a compilation's segment may start or end on
        that very frame) and puts it where the photo's own best moment in that video is. Through
        copies too: an excerpt holds it, and so does a compilation sharing the moment with the source;
        beyond the closest recording's own links, only through strong ones (a likely link to another
        take of the same room would carry the photo on into that take's copies).
        """
        closest, when = home[photo]
        found = {closest: when}
        todo = [closest]
        while todo:
            holder = todo.pop()
            at = found[holder]
            for video, shared in spans.get(holder, {}).items():
                if video in found or (holder != closest and (holder, video) not in strong):
                    continue
                spot = spots[photo].get(video)
                for start, end, other_start, _other_end in shared:
                    there = other_start + at - start
                    if start + _SAME_MOMENT_S <= at <= end - _SAME_MOMENT_S or (
                            spot is not None and start - _SAME_MOMENT_S <= at <= end + _SAME_MOMENT_S
                            and abs(there - spot[2]) <= _SAME_MOMENT_S):
                        found[video] = there
                        todo.append(video)
                        break
        return found

    held = {photo: holders(photo) for photo in home}

    def holds(video: str, photo: str) -> bool:
        """Whether `video` is the photo's closest recording or holds that moment of it (holders)."""
        return video in held[photo]

    kept, demoted = [], []
    for m in matches:
        reason = None
        if m.unexplained_change is not None:
            pass  # shown at full size to be one picture: the thumbnails' closeness does not overrule it
        elif _photo_in_video(m, kinds):
            photo, video = _photo_and_video(m, kinds)
            if photo in home and not holds(video, photo):
                closest = home[photo][0]
                reason = (f"the photo fits another recording of this scene better (fit {spots[photo][closest][1]:.2f}, "
                          f"{spots[photo][closest][0]:g} bits, against {spots[photo][video][1]:.2f}, "
                          f"{spots[photo][video][0]:g} bits), which this video does not hold at that moment: not "
                          "shown to be taken from this one")
        elif m.kind == "image" and m.a in home and m.b in home and home[m.a][0] != home[m.b][0] \
                and not holds(home[m.b][0], m.a) and not holds(home[m.a][0], m.b):
            reason = "the two photos are closest to different recordings of this scene: not shown to be one picture"
        if reason is None:
            kept.append(m)
        else:
            demoted.append(SceneMatch(m.a, m.b, "image", m.score, reason, m.a_start_s, m.b_start_s, m.distance_bits))
    return kept, demoted


def _one_source_per_stretch(matches: list[PairMatch],
                            same_scene: Callable[[str, str], bool]) -> tuple[list[PairMatch], list[SceneMatch]]:
    """Gives the matches with each stretch of a video given to one recording only, and the rest as scene leads.

    A stretch of a compilation came from one recording; where two videos that are not copies of
    each other both claim most of it (two takes of one room, say), the one whose hashes and
    motion agree better keeps it. Rivals are claimants that look alike but are not one recording
    (`same_scene`); two compilations that both hold a stretch of one source are not rivals.
    """
    videos = [m for m in matches if m.kind == "video"]
    linked = {frozenset((m.a, m.b)) for m in videos}
    copies = {key: index for index, group in enumerate(groups_of(videos)) for key in group}
    claims: dict[str, list[tuple[float, float, str, PairMatch]]] = {}  # video -> (start, end, claimant, match)
    for m in videos:
        # A video match always has its stretches (align._video_match); its first is the longest.
        a0, a1, b0, b1 = m.segments[0]
        claims.setdefault(m.a, []).append((a0, a1, m.b, m))
        claims.setdefault(m.b, []).append((b0, b1, m.a, m))
    beaten: dict[int, PairMatch] = {}
    for held in claims.values():
        for i, (s1, e1, who1, m1) in enumerate(held):
            for s2, e2, who2, m2 in held[i + 1:]:
                shared = min(e1, e2) - max(s1, s2)
                if shared <= 0.5 * min(e1 - s1, e2 - s2) or frozenset((who1, who2)) in linked \
                        or "same" in (m1.relation, m2.relation) \
                        or copies.get(who1, who1) == copies.get(who2, who2) or not same_scene(who1, who2):
                    continue  # not rivals: copies of one recording, whole copies of this video, or unalike
                loser, winner = (m1, m2) if m1.score < m2.score else (m2, m1)
                # Only where the winner is held whole in this video is the stretch its own: two
                # compilations that both hold part of a source are not rivals for that source.
                if not _holds_whole(winner, who1 if winner is m1 else who2):
                    continue
                beaten.setdefault(id(loser), winner)
    kept = [m for m in matches if id(m) not in beaten]
    lost = []
    for m in matches:
        if id(m) in beaten:
            winner = beaten[id(m)]
            lost.append(SceneMatch(m.a, m.b, "video", m.score,
                                   f"another recording ({winner.b if winner.a in (m.a, m.b) else winner.a}) fits this "
                                   f"stretch better (score {winner.score:.2f} against {m.score:.2f}): the same scene, "
                                   "not shown to be this recording", m.a_start_s, m.b_start_s, m.distance_bits))
    return kept, lost


def _holds_whole(match: PairMatch, claimant: str) -> bool:
    """Whether `match` says the other file holds the whole of `claimant`."""
    return match.relation == ("a_contains_b" if match.b == claimant else "b_contains_a")


_SAME_MOMENT_S = 0.3  # two photos placed this close in one recording show the same moment


def _photos_through_copies(matches: list[PairMatch], scenes: list[SceneMatch],
                           kinds: dict[str, str]) -> tuple[list[PairMatch], list[SceneMatch]]:
    """Gives the matches with what proven matches imply, and the scene leads they settle taken out.

    A photo shown to be a frame of a video is a frame of every copy of that stretch too (a
    crop or a banner may hide it from the copy's own hashes); two photos shown to be the same
    moment of one recording are one picture. What is implied is `likely` at best.
    """
    proven = [m for m in matches if m.confidence == "strong"]  # an implied link is as good as its weakest
    by_pair = {frozenset((m.a, m.b)): m for m in matches}
    placed: dict[str, list[tuple[str, float, PairMatch]]] = {}  # photo -> (video, time in it, match)
    for m in proven:
        if _photo_in_video(m, kinds):
            photo, video = _photo_and_video(m, kinds)
            when = m.a_start_s if video == m.a else m.b_start_s
            if when is not None:
                placed.setdefault(photo, []).append((video, when, m))
    videos = [m for m in proven if m.kind == "video"]  # strong only: a false link would multiply
    implied: dict[frozenset[str], PairMatch] = {}

    def imply(pair: PairMatch) -> None:
        key = frozenset((pair.a, pair.b))
        known = by_pair.get(key)
        if (known is None or known.confidence == "weak") and key not in implied:
            implied[key] = pair

    for photo, spots in placed.items():
        for video, when, seed in list(spots):
            for m in videos:
                if video not in (m.a, m.b):
                    continue
                other = m.b if m.a == video else m.a
                for a0, a1, b0, b1 in m.segments:
                    here, there = ((a0, a1), (b0, b1)) if m.a == video else ((b0, b1), (a0, a1))
                    if here[0] + _SAME_MOMENT_S <= when <= here[1] - _SAME_MOMENT_S:  # well inside: not at a cut
                        then = round(min(max(there[0], when - here[0] + there[0]), there[1]), 3)
                        score = round(min(seed.score, m.score), 4)
                        if photo < other:  # pairs are named in key order
                            imply(PairMatch(photo, other, "image", "b_contains_a", score, None, None, then, then,
                                            confidence="likely", distance_bits=seed.distance_bits))
                        else:
                            imply(PairMatch(other, photo, "image", "a_contains_b", score, then, then, None, None,
                                            confidence="likely", distance_bits=seed.distance_bits))
                        break
    moments: dict[str, list[tuple[str, float, float]]] = {}  # video -> (photo, time, score)
    for photo, spots in placed.items():
        for video, when, seed in spots:
            moments.setdefault(video, []).append((photo, when, seed.score))
    for at_once in moments.values():
        for i, (one, when_one, score_one) in enumerate(at_once):
            for two, when_two, score_two in at_once[i + 1:]:
                if one != two and abs(when_one - when_two) <= _SAME_MOMENT_S:
                    imply(PairMatch(min(one, two), max(one, two), "image", "same", round(min(score_one, score_two), 4),
                                    None, None, None, None, confidence="likely"))
    if not implied:
        return matches, scenes
    kept = [m for m in matches if frozenset((m.a, m.b)) not in implied]
    return kept + list(implied.values()), [s for s in scenes if frozenset((s.a, s.b)) not in implied]


def groups_of(matches: Sequence[PairMatch],
              leads: Sequence[SceneMatch] = ()) -> tuple[tuple[str, ...], ...]:
    """Gives the connected sets (two or more keys) of the matches whose relation is "same".

    Two files a lead keeps apart (not shown to be one recording, or shown not to be: another
    moment of a still scene) are never joined through others: a copy with a box laid over just
    what changed matches both moments. Matches join in order of score, the strongest first.
    """
    parent: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    apart: dict[str, set[str]] = {}
    for lead in leads:
        apart.setdefault(lead.a, set()).add(lead.b)
        apart.setdefault(lead.b, set()).add(lead.a)

    def root(key: str) -> str:
        if key not in parent:
            parent[key], members[key] = key, {key}
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for match in sorted(matches, key=lambda m: (-m.score, m.a, m.b)):
        if match.relation != "same" or match.confidence == "weak":
            continue
        one, other = root(match.a), root(match.b)
        if one == other:
            continue
        small, big = sorted((one, other), key=lambda root_key: len(members[root_key]))  # the smaller looked through
        if any(not apart.get(key, set()).isdisjoint(members[big]) for key in members[small]):
            continue
        parent[small] = big
        members[big] |= members.pop(small)
    return tuple(sorted(tuple(sorted(group)) for group in members.values() if len(group) > 1))
