"""jieba's prefix dictionary stored next to the model cache answers, and tokenizes, exactly as jieba's own dict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jieba
import numpy as np
import pytest

from qa.text import tokens
from qa.text.jieba_tables import PrefixFrequencies

ROOT = Path(__file__).resolve().parent.parent
MIXED = [
    "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？",
    "InDrive在巴基斯坦出租车市场的份额超过60%，CEO说 2026年3月",
    "Tokayev met Sharif in Astana; 双方签署了 15 项协议 (agreements).",
    "宏碁和浩漢在坂里村 ﬁne ２０２４年 ÅÆ \u3000 全角　空格",
    "",
]


@pytest.fixture(scope="module")
def real() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()  # jieba's own dict (from its cache file)
    return tokenizer


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, real: jieba.Tokenizer) -> Path:
    out = tmp_path_factory.mktemp("prefix")
    PrefixFrequencies.write(out, real)
    return out


def _stored(folder: Path, promote_after: int = 10**9) -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    table = PrefixFrequencies(folder, tokenizer, promote_after=promote_after)
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = table, table.total, True
    return tokenizer


def _texts() -> list[str]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    assert seeds
    return seeds + [line for text in seeds for line in text.splitlines() if line.strip()] + MIXED


def test_the_stored_table_is_jiebas_dict(folder: Path, real: jieba.Tokenizer) -> None:
    table = PrefixFrequencies(folder, jieba.Tokenizer())
    words = sorted(real.FREQ)
    assert np.asarray(table.words).tolist() == [w.encode("utf-8") for w in words]
    assert np.asarray(table.freqs).tolist() == [real.FREQ[w] for w in words]
    assert table.total == real.total and len(table) == len(real.FREQ)
    for key in ("巴基斯坦", "巴基斯", "巴", "哈萨克斯坦", "不在词典里的词", "A" * 200, "", "x", "的\x00", "\ud800", 7, None):
        assert (key in table) == (key in real.FREQ)
        assert table.get(key) == real.FREQ.get(key) and table.get(key, -1) == real.FREQ.get(key, -1)
        if key in real.FREQ:
            assert table[key] == real.FREQ[key]
        else:
            with pytest.raises(KeyError):
                table[key]
    assert not table.promoted


def test_tokenize_with_the_stored_table_gives_jiebas_tokens(folder: Path, real: jieba.Tokenizer) -> None:
    texts = _texts()
    saved = jieba.dt.FREQ, jieba.dt.total, jieba.dt.initialized
    tokens.jieba_ready()
    try:
        jieba.dt.FREQ, jieba.dt.total = real.FREQ, real.total
        tokens._tokenize_cached.cache_clear()
        expected = [tokens.tokenize(t) for t in texts]
        stored = _stored(folder)
        jieba.dt.FREQ, jieba.dt.total = stored.FREQ, stored.total
        tokens._tokenize_cached.cache_clear()
        assert [tokens.tokenize(t) for t in texts] == expected
        assert not stored.FREQ.promoted  # answered from the stored table, not jieba's dict
    finally:
        jieba.dt.FREQ, jieba.dt.total, jieba.dt.initialized = saved
        tokens._tokenize_cached.cache_clear()
    # every way jieba reads the table: search mode, plain cut with and without the HMM, tokenize()
    stored = _stored(folder)
    for text in texts:
        assert stored.lcut(text) == real.lcut(text)
        assert stored.lcut(text, HMM=False) == real.lcut(text, HMM=False)
        assert list(stored.tokenize(text, mode="search")) == list(real.tokenize(text, mode="search"))


def test_many_lookups_hand_over_to_jiebas_dict(folder: Path, real: jieba.Tokenizer) -> None:
    stored = _stored(folder, promote_after=500)
    table = stored.FREQ
    texts = _texts()
    assert [stored.lcut_for_search(t) for t in texts] == [real.lcut_for_search(t) for t in texts]
    assert table.promoted and type(stored.FREQ) is dict and stored.FREQ == real.FREQ
    assert table.get("巴基斯坦") == real.FREQ["巴基斯坦"]  # an old reference still answers


def test_writing_to_the_table_falls_back_to_jiebas_dict(folder: Path) -> None:
    stored, reference = _stored(folder), jieba.Tokenizer()
    reference.initialize()
    for tokenizer in (stored, reference):
        tokenizer.add_word("坂里村新词", 5)
        tokenizer.suggest_freq(("巴基", "斯坦"), tune=True)
    assert type(stored.FREQ) is dict and stored.FREQ == reference.FREQ and stored.total == reference.total
    assert stored.lcut("他去了坂里村新词和巴基斯坦") == reference.lcut("他去了坂里村新词和巴基斯坦")


def test_a_fresh_process_uses_the_stored_table(tmp_path: Path) -> None:
    code = (
        "import sys, jieba; from qa.text import static_cache; from qa.text.tokens import tokenize, jieba_ready;"
        "static_cache.use_folder(sys.argv[1]); jieba_ready(); print(type(jieba.dt.FREQ).__name__, tokenize(sys.argv[2]))"
    )
    runs = [subprocess.run([sys.executable, "-c", code, str(tmp_path), MIXED[1]], capture_output=True, text=True,
                           check=True, cwd=ROOT).stdout.split(" ", 1) for _ in range(2)]
    assert runs[0][0] == "dict"  # the first process stores the table (jieba's dict loaded to write it)
    assert runs[1][0] == "PrefixFrequencies" and runs[1][1] == runs[0][1]
    assert list(tmp_path.joinpath("static").glob("jieba-prefix-dict-*/words.npy"))
