"""The speaker directory: raw speaker names grouped into people, the user's aliases file, speaker summaries."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.extraction.quotes import NAME_SEP, PRONOUNS_ZH, TITLE_RE, Quote, surname

ALIASES_FILE = "speakers.json"
"""Optional, in the articles folder. ``.json`` is not an article suffix, so the loader skips it."""


@dataclass(frozen=True)
class Speaker:
    name: str
    aliases: list[str]
    quote_count: int
    articles: list[str]
    first_date: str
    last_date: str
    type: str = "person"
    """person, organisation, government, media, document or group (the most frequent over its quotes)."""

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Aliases:
    """The user's corrections, from ``speakers.json`` in the articles folder::

        {
          "merge":    {"卡西姆-若马尔特·托卡耶夫": ["Kassym-Jomart Tokayev", "Tokayev"]},
          "rename":   {"卡西姆-若马尔特·托卡耶夫": "Kassym-Jomart Tokayev"},
          "separate": [["卡西姆-若马尔特·托卡耶夫", "哈斯穆-卓玛尔特·托卡耶夫"]]
        }

    ``merge``: these names are one person (the key is also the display name unless renamed);
    ``rename``: show the person known by the key under the new name; ``separate``: never merge
    these names automatically (undoes a wrong automatic merge).
    """

    merge: dict[str, list[str]] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    separate: list[list[str]] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> Aliases:
        path = folder / ALIASES_FILE
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise QAError(f"{path}: not valid JSON ({exc}); fix it or delete it") from None
        if not isinstance(data, dict) or set(data) - {"merge", "rename", "separate"}:
            raise QAError(f"{path}: expected an object with only the keys 'merge', 'rename', 'separate'")
        try:
            merge = {str(k): [str(x) for x in v] for k, v in (data.get("merge") or {}).items()}
            rename = {str(k): str(v) for k, v in (data.get("rename") or {}).items()}
            separate = [[str(x) for x in group] for group in (data.get("separate") or [])]
        except (AttributeError, TypeError):
            raise QAError(
                f"{path}: 'merge' maps a name to a list of names, 'rename' maps a name to a name, "
                "'separate' is a list of lists of names"
            ) from None
        return cls(merge, rename, separate)


class SpeakerDirectory:
    """Groups the raw speaker names of all quotes into people, then applies the aliases file.

    Automatic merging: a surname-only name joins the one full name with that surname; full
    names with the same surname and the same number of parts are one person written in
    different transliterations (卡西姆-若马尔特·托卡耶夫 / 哈斯穆-卓玛尔特·托卡耶夫).
    """

    def __init__(self, raw_counts: dict[str, int], aliases: Aliases | None = None, mentions: Iterable[str] = ()) -> None:
        aliases = aliases or Aliases()
        names = set(raw_counts) | {n for v in aliases.merge.values() for n in v} | set(aliases.merge)
        parent = {n: n for n in names}

        def find(n: str) -> str:
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        def union(a: str, b: str) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[rb] = ra

        kept_apart = [set(g) for g in aliases.separate]

        def apart(a: str, b: str) -> bool:
            return any(a in g and b in g for g in kept_apart)

        by_surname: dict[str, list[str]] = defaultdict(list)
        for n in sorted(names):
            by_surname[surname(n).lower()].append(n)
        for group in by_surname.values():
            full = [n for n in group if _parts(n) > 1]
            short = [n for n in group if _parts(n) == 1]
            for i, a in enumerate(full):
                for b in full[i + 1 :]:
                    if _parts(a) == _parts(b) and not apart(a, b):
                        union(a, b)
            for s in short:
                roots = {find(f) for f in full if not apart(s, f)}
                if len(roots) == 1:
                    union(next(iter(roots)), s)
        for canonical, others in aliases.merge.items():
            for o in others:
                union(canonical, o)
        members: dict[str, list[str]] = defaultdict(list)
        for n in names:
            members[find(n)].append(n)
        self.display: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        for root, group in members.items():
            merge_keys = [k for k in aliases.merge if k in group]
            if merge_keys:
                name = merge_keys[0]
            else:
                name = max(group, key=lambda n: (_parts(n) > 1, raw_counts.get(n, 0), -len(n), n))
            for old, new in aliases.rename.items():
                if old in group or old == name:
                    name = new
            self.display[root] = name
            self.members[name] = sorted(set(group) | {name})
        self._root = {n: find(n) for n in names}
        self._lookup: dict[str, str] = {}
        for name, group in self.members.items():
            for n in group:
                self._lookup.setdefault(n.lower(), name)
            self._lookup[name.lower()] = name
        for old, new in aliases.rename.items():
            self._lookup.setdefault(old.lower(), self.canonical(old) or new)

    def canonical(self, raw: str) -> str | None:
        root = self._root.get(raw)
        return self.display[root] if root is not None else None

    def resolve(self, name: str) -> str | None:
        """A person's canonical name from any of their names (or a unique part of one)."""
        wanted = re.sub(r"\s+", " ", name.strip().strip("?？。.")).lower()
        wanted = re.sub(r"^(?:president|prime minister|mr\.?|ms\.?)\s+", "", wanted)
        wanted = re.sub("(?:总统|总理|国家元首)$", "", wanted)
        if not wanted:
            return None
        if wanted in self._lookup:
            return self._lookup[wanted]
        hits = {canon for n, canon in self._lookup.items() if len(wanted) >= 2 and (wanted in n or n in wanted) and len(n) >= 2}
        return hits.pop() if len(hits) == 1 else None


def _parts(name: str) -> int:
    return len([p for p in re.split(f"[{NAME_SEP}\\s]+", name.strip()) if p])


def short_name(speaker: str, aliases: Sequence[str] = (), *, chinese: bool = True) -> str:
    """托卡耶夫 for 卡西姆-若马尔特·托卡耶夫; the CJK surname for Chinese text when the display name is Latin."""
    pool = [speaker, *aliases]
    if chinese:
        cjk = [n for n in pool if re.search(r"[\u4e00-\u9fff]", n)]
        if cjk:
            return surname(cjk[0])
    return surname(speaker) if _parts(speaker) > 1 and chinese else speaker


def aggregate_speakers(quotes: Sequence[Quote], directory: SpeakerDirectory, speaker_type: str | None = None) -> list[Speaker]:
    """Every resolved source with its quotes (an unresolved 他 is nobody's); optionally of one type only."""
    by: dict[str, list[Quote]] = defaultdict(list)
    for q in quotes:
        if q.resolved:
            by[q.speaker].append(q)
    out = []
    for name, qs in by.items():
        dates = sorted(q.date for q in qs if q.date)
        mentions = {q.mention for q in qs if q.mention not in PRONOUNS_ZH and not TITLE_RE.fullmatch(q.mention)
                    and q.mention.lower() not in ("he", "she") and not q.mention.lower().startswith("the ")}
        aliases = sorted((set(directory.members.get(name, [])) | mentions) - {name})
        kind = Counter(q.speaker_type for q in qs).most_common(1)[0][0]
        if speaker_type and kind != speaker_type:
            continue
        out.append(Speaker(name, aliases, len(qs), sorted({q.article_id for q in qs}), dates[0] if dates else "",
                           dates[-1] if dates else "", kind))
    out.sort(key=lambda s: (-s.quote_count, s.name))
    return out
