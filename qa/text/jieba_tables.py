"""jieba, loaded cheaply: its prefix dictionary and part-of-speech table stored once next to the model cache, memory-mapped.

A fresh process that asks one question needs a few thousand entries of jieba's two static tables, yet
loading them costs ~0.45 s (`jieba.initialize()`: `marshal.load` of the 498k-entry prefix dictionary) and
~0.3 s (`import jieba.posseg`: parsing the dictionary for the tags). Both tables are written once, sorted,
into `qa.text.static_cache`'s folder as numpy arrays, memory-mapped and binary-searched: `PrefixFrequencies`
stands in for `Tokenizer.FREQ` and `WordTags` for `POSTokenizer.word_tag_tab`, each answering exactly as
jieba's dict would. Bulk tokenization (indexing) is not slowed down: after `PROMOTE_AFTER` lookups
the prefix table hands over to jieba's own dict; so does anything that writes to it (`jieba.add_word`, user
dictionaries). Without a cache folder, or with another dictionary than jieba's default, jieba's own tables
are used.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from qa.text import static_cache

log = logging.getLogger(__name__)

PROMOTE_AFTER = 60_000
"""Lookups answered by the stored prefix table before jieba's own dict replaces it. A question and its first
answer make ~17k (~2.5k distinct keys: a few ms on the table); bulk tokenization (indexing) makes ~7 per
character, where a dict lookup beats the table's Python-level one (~0.3 µs, ~3 µs for a new key): past
this many, loading the dict (~0.45 s) pays for itself, and what the table cost until then stays ~0.05 s."""

_lock = threading.Lock()
_ready = False
_posseg: Any = None
_MISSING = object()


def jieba_ready():  # type: ignore[no-untyped-def]
    """The jieba module with its dictionary ready (once per process, thread-safe): the stored prefix table
    when the cache folder has (or can take) one, else jieba's own dictionary."""
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.dt
                if not tokenizer.initialized:
                    table = _stored_prefix_table(tokenizer)
                    with tokenizer.lock:
                        if table is not None and not tokenizer.initialized:
                            tokenizer.FREQ, tokenizer.total = table, table.total
                            tokenizer.initialized = True
                jieba.initialize()  # a no-op when the stored table is in place
                _ready = True
    return jieba


def _stored_prefix_table(tokenizer: Any) -> PrefixFrequencies | None:
    import jieba

    if tokenizer.dictionary is not None:  # a dictionary of the user's (jieba.set_dictionary): jieba's own load
        return None
    dict_file = Path(jieba.__file__).with_name("dict.txt")
    try:
        st = dict_file.stat()
    except OSError:
        return None
    key = f"jieba-{jieba.__version__}|default|{st.st_size}|{st.st_mtime_ns}|{PrefixFrequencies.FORMAT}"
    folder = static_cache.cached_folder("jieba-prefix-dict", key, lambda out: PrefixFrequencies.write(out, tokenizer))
    if folder is None or tokenizer.initialized:  # no cache folder, or the dict was just loaded to write the table
        return None
    try:
        return PrefixFrequencies(folder, tokenizer)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("jieba's stored prefix table in %s is unreadable (%s); using jieba's own", folder, exc)
        return None


class PrefixFrequencies(MutableMapping[str, int]):
    """jieba's prefix dictionary (`Tokenizer.FREQ`: word → frequency, prefixes of words → 0) as two sorted
    arrays, memory-mapped and binary-searched; each key met is remembered. Reads answer as the dict would;
    the first write, or more than `promote_after` lookups, loads jieba's own dict into the tokenizer
    (`promote`), which then answers everything."""

    FORMAT = 1

    def __init__(self, folder: Path, tokenizer: Any, promote_after: int = PROMOTE_AFTER) -> None:
        import numpy as np

        self._np = np
        self.words = np.load(folder / "words.npy", mmap_mode="r")
        self.freqs = np.load(folder / "freqs.npy", mmap_mode="r")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if len(self.words) != meta["count"] or len(self.freqs) != meta["count"]:
            raise ValueError("the stored arrays do not have the recorded length")
        self.total: int = int(meta["total"])
        self._width = self.words.dtype.itemsize
        self._tokenizer = tokenizer
        self._promote_after = promote_after
        self._lookups = 0
        self._known: dict[str, int] = {}
        self._absent: set[str] = set()
        self._real: dict[str, int] | None = None
        self._promote_lock = threading.Lock()

    @classmethod
    def write(cls, folder: Path, tokenizer: Any) -> None:
        """Store `tokenizer`'s prefix dictionary (loaded by jieba from its own cache) into `folder`."""
        import numpy as np

        tokenizer.initialize()
        table: dict[str, int] = tokenizer.FREQ
        if not isinstance(table, dict):
            raise OSError("jieba's prefix dictionary is not a dict here; not storing it")
        # UTF-8 bytes sort as the code points do; a NUL would be lost in numpy's fixed-width strings
        words = sorted(table)
        if any("\x00" in w for w in words):
            raise OSError("jieba's dictionary has a word with a NUL character; not storing it")
        np.save(folder / "words.npy", np.array([w.encode("utf-8") for w in words]))
        np.save(folder / "freqs.npy", np.array([table[w] for w in words], dtype=np.int64))
        (folder / "meta.json").write_text(json.dumps({"count": len(words), "total": int(tokenizer.total)}),
                                          encoding="utf-8")

    def _search(self, key: object) -> Any:
        if not isinstance(key, str):
            return _MISSING  # jieba's dict has str keys only
        raw = key.encode("utf-8", "surrogatepass")
        if not raw or len(raw) > self._width or b"\x00" in raw:
            return _MISSING
        i = int(self._np.searchsorted(self.words, raw))
        if i < len(self.words) and self.words[i] == raw:
            return int(self.freqs[i])
        return _MISSING

    def _lookup(self, key: Any) -> Any:
        real = self._real
        if real is not None:  # promoted: jieba's dict (it may have been written to since)
            return real.get(key, _MISSING)
        self._lookups += 1
        if self._lookups > self._promote_after:
            return self.promote().get(key, _MISSING)
        value = self._known.get(key, _MISSING)  # an unhashable key raises TypeError here, as in a dict
        if value is not _MISSING or key in self._absent:
            return value
        value = self._search(key)
        if value is _MISSING:
            self._absent.add(key)
        else:
            self._known[key] = value
        return value

    def promote(self) -> dict[str, int]:
        """Load jieba's own dict (its cache file, as `jieba.initialize` does) and put it in the tokenizer."""
        with self._promote_lock:
            if self._real is None:
                import jieba

                full = jieba.Tokenizer(self._tokenizer.dictionary)
                full.tmp_dir, full.cache_file = self._tokenizer.tmp_dir, self._tokenizer.cache_file
                full.initialize()
                with self._tokenizer.lock:
                    if self._tokenizer.FREQ is self:
                        self._tokenizer.FREQ = full.FREQ
                self._real = full.FREQ
            return self._real

    @property
    def promoted(self) -> bool:
        return self._real is not None

    def __contains__(self, key: object) -> bool:
        return self._lookup(key) is not _MISSING

    def __getitem__(self, key: str) -> int:
        value = self._lookup(key)
        if value is _MISSING:
            raise KeyError(key)
        return int(value)

    def get(self, key: str, default: Any = None) -> Any:
        value = self._lookup(key)
        return default if value is _MISSING else value

    def __setitem__(self, key: str, value: int) -> None:
        self.promote()[key] = value

    def __delitem__(self, key: str) -> None:
        del self.promote()[key]

    def __len__(self) -> int:
        return len(self._real) if self._real is not None else len(self.words)

    def __iter__(self) -> Iterator[str]:
        if self._real is not None:
            return iter(self._real)
        return (w.decode("utf-8") for w in self.words)


def pos_tagger():  # type: ignore[no-untyped-def]
    """`jieba.posseg` (words with part-of-speech tags), its word → tag table looked up on disk.

    Importing jieba.posseg parses jieba's 349k-line dictionary into a dict of tags (~0.3 s of every
    fresh process, more than the few lookups a question needs). The table is static: it is stored
    once, sorted, next to the model cache (`static_cache`) and binary-searched (`WordTags`); the import
    skips the parse because jieba.posseg builds its tagger from `jieba.dt.get_dict_file()`, which
    returns an empty file for that one moment. Without a cache folder jieba's own table is used."""
    global _posseg
    if _posseg is not None:
        return _posseg
    jieba = jieba_ready()
    with _lock:
        if _posseg is None:
            folder = None
            if "jieba.posseg" not in sys.modules:
                folder = static_cache.cached_folder("jieba-word-tags", f"jieba-{jieba.__version__}|{jieba.dt.dictionary}",
                                                    WordTags.write)
            if folder is None:
                import jieba.posseg as posseg
            else:
                import io

                jieba.dt.get_dict_file = lambda: io.BytesIO(b"")  # only while jieba.posseg builds its tagger
                try:
                    import jieba.posseg as posseg
                finally:
                    del jieba.dt.get_dict_file
                posseg.dt.word_tag_tab = WordTags(folder)
            _posseg = posseg
    return _posseg


class WordTags:
    """jieba.posseg's word → tag table as two sorted fixed-width arrays, memory-mapped and binary-searched:
    `get` answers exactly as the dict jieba builds would (a later line of the dictionary wins)."""

    def __init__(self, folder: Path) -> None:
        import numpy as np

        self._np = np
        self.words = np.load(folder / "words.npy", mmap_mode="r")
        self.tags = np.load(folder / "tags.npy", mmap_mode="r")

    @staticmethod
    def write(folder: Path) -> None:
        import numpy as np

        table: dict[str, str] = {}
        with jieba_ready().dt.get_dict_file() as fh:  # as POSTokenizer.load_word_tag reads it
            for line in fh:
                line = line.strip().decode("utf-8")
                if line:
                    word, _, tag = line.split(" ")
                    table[word] = tag
        words = sorted(w.encode("utf-8") for w in table)
        np.save(folder / "words.npy", np.array(words))
        np.save(folder / "tags.npy", np.array([table[w.decode("utf-8")].encode("utf-8") for w in words]))

    def get(self, word: str, default: str | None = None) -> str | None:
        key = word.encode("utf-8")
        if not key or len(key) > self.words.dtype.itemsize:
            return default
        i = int(self._np.searchsorted(self.words, key))
        if i < len(self.words) and self.words[i] == key:
            return self.tags[i].decode("utf-8")
        return default

    def update(self, other: dict[str, str]) -> None:  # jieba adds user-dictionary words this way
        raise NotImplementedError("user dictionaries are not used with the stored word-tag table")
