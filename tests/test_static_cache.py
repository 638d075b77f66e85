"""Tables built once from static data and stored next to the model cache give exactly what building them gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.text import static_cache
from qa.text.jieba_tables import WordTags, jieba_ready


def test_stored_word_tags_are_jiebas_own_table(tmp_path: Path) -> None:
    import jieba.posseg

    reference = jieba.posseg.POSTokenizer(jieba_ready().dt).word_tag_tab  # parsed from the dictionary by jieba
    WordTags.write(tmp_path)
    tags = WordTags(tmp_path)
    words = sorted(reference)
    assert [w.decode("utf-8") for w in np.asarray(tags.words).tolist()] == words
    assert [t.decode("utf-8") for t in np.asarray(tags.tags).tolist()] == [reference[w] for w in words]
    for word in ("巴基斯坦", "哈萨克斯坦", "总理", "x", "不在词典里的词", "A" * 200, ""):
        assert tags.get(word, "x") == reference.get(word, "x")


def test_the_tagger_with_the_stored_table_tags_as_jieba_does(tmp_path: Path) -> None:
    import jieba.posseg

    reference = jieba.posseg.POSTokenizer(jieba_ready().dt)
    stored = jieba.posseg.POSTokenizer(jieba_ready().dt)
    WordTags.write(tmp_path)
    stored.word_tag_tab = WordTags(tmp_path)
    for text in ("巴基斯坦总理夏巴兹·谢里夫访问哈萨克斯坦", "宏碁和浩漢在坂里村", "InDrive在巴基斯坦出租车市场的份额超过60%"):
        assert [tuple(p) for p in stored.lcut(text)] == [tuple(p) for p in reference.lcut(text)]


def test_a_stored_gazetteer_is_the_built_one(tmp_path: Path) -> None:
    from qa.text import countries

    static_cache.use_folder(tmp_path)
    try:
        countries.gazetteer.cache_clear()
        first = countries.gazetteer()  # built and stored
        assert list(tmp_path.joinpath("static").glob("gazetteer-*.marshal"))
        countries.gazetteer.cache_clear()
        again = countries.gazetteer()  # read back
        assert list(again.forms.items()) == list(first.forms.items()) == list(countries._country_forms().items())
        assert again.countries("巴基斯坦与哈萨克斯坦的贸易") == {"PK", "KZ"}
    finally:
        static_cache.use_folder(None)
        countries.gazetteer.cache_clear()


def test_a_stored_t2s_table_is_the_built_one(tmp_path: Path) -> None:
    from qa.text import normalise

    static_cache.use_folder(tmp_path)
    try:
        normalise._t2s_table.cache_clear()
        first = normalise._t2s_table()  # built and stored
        assert list(tmp_path.joinpath("static").glob("zhconv-t2s-*.marshal"))
        normalise._t2s_table.cache_clear()
        assert normalise._t2s_table() == first == normalise._build_t2s()
        assert normalise.normalize("貿易額 ＧＤＰ") == "贸易额 gdp"
    finally:
        static_cache.use_folder(None)
        normalise._t2s_table.cache_clear()
