import datetime as dt

from qa.retrieval.keywords import KeywordIndex
from qa.text.normalise import normalize
from qa.text.tokens import tokenize
from qa.retrieval.fusion import RRF_K, reciprocal_rank_fusion


def test_rrf_by_hand() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60))
    assert fused["b"] == 1 / 62 + 1 / 61
    assert fused["a"] == 1 / 61 and fused["d"] == 1 / 62
    assert [i for i, _ in reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]])][:2] == ["b", "a"]
    assert RRF_K == 60


def test_keyword_normalisation_traditional_and_full_width() -> None:
    assert normalize("貿易額ＧＤＰ１０") == "贸易额gdp10"
    assert "贸易额" in tokenize("雙邊貿易額")
    index = KeywordIndex(["a", "b"], ["双边贸易额提升至10亿美元", "人均GDP达到1.5万美元"])
    assert index.search("貿易額", 2)[0][0] == "a"
    assert index.search("ＧＤＰ", 2)[0][0] == "b"
    assert index.search("完全无关", 2) == []


def test_hybrid_finds_the_passage_in_chinese_and_english(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    retriever = seed_pipeline.retriever
    docs = retriever.invoke("InDrive在巴基斯坦出租车市场的份额", k=3)
    assert "60%" in docs[0].page_content
    docs = retriever.invoke("What share of the Pakistani taxi market does InDrive hold?", k=5)
    assert any("60%" in d.page_content for d in docs)
    for d in docs:
        m = d.metadata
        assert m["end"] - m["start"] == len(d.page_content)


def test_modes_and_filters(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    retriever = seed_pipeline.retriever
    q = "乌兹别克斯坦 贸易额"
    for mode in ("dense", "keyword", "hybrid"):
        assert retriever.invoke(q, k=3, mode=mode)
    only = retriever.invoke(q, k=5, article_ids=["000_5e0bde8b062db4d5.txt"])
    assert only and {d.metadata["article_id"] for d in only} == {"000_5e0bde8b062db4d5.txt"}
    recent = retriever.invoke(q, k=5, since=dt.date(2026, 1, 1))
    assert recent and all(d.metadata["date"] >= "2026-01-01" for d in recent)
    assert retriever.invoke(q, k=5, until=dt.date(2020, 1, 1)) == []


def test_exact_dense_restores_a_keyword_hit_the_vector_search_left_out(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    retriever = seed_pipeline.retriever
    q = "InDrive在巴基斯坦出租车市场的份额"
    snap = retriever.snapshot()
    dense = retriever._dense(q, 5, retriever_filters(), snap)
    top, score = dense[0]
    # As if Chroma's approximate search had not returned the best chunk:
    restored = retriever.exact_dense(q, dense[1:], [top, "no-such-chunk"], 5)
    assert restored[0][0] == top and abs(restored[0][1] - score) < 1e-4
    assert [cid for cid, _ in restored[1:]] == [cid for cid, _ in dense[1:5]]
    # a full list only takes a candidate that beats its last hit
    assert retriever.exact_dense(q, dense[:1], [dense[-1][0]], 1) == dense[:1]


def retriever_filters():  # type: ignore[no-untyped-def]
    from qa.retrieval.filters import Filters

    return Filters(None, None, None)


def test_keyword_matrices_are_exactly_bm25s_own() -> None:
    """KeywordIndex computes the BM25 matrices with whole-array numpy; bm25s's own `index` on the
    same tokens must give the very same arrays (and searches), so the two cannot drift apart."""
    import bm25s
    import numpy as np

    from qa.retrieval.keywords import Tokens

    texts = ["双边贸易额提升至10亿美元，双边贸易额稳定增长", "人均GDP达到1.5万美元", "。", "贸易额 贸易额 贸易额",
             "哈萨克斯坦与巴基斯坦的贸易额目标是10亿美元", "InDrive在巴基斯坦出租车市场的份额达到60%", ""] * 7
    texts += [f"第{i}条新闻：阿斯塔纳举办了第{i}届国际熊猫节，吸引了{i}万名游客。" for i in range(40)]
    ids = [f"c{i}" for i in range(len(texts))]
    ours = KeywordIndex(ids, texts)
    tokens = ours.tokens
    assert tokens is not None
    theirs = bm25s.BM25(method="lucene")
    corpus = [tokens.flat[tokens.offsets[i] : tokens.offsets[i + 1]].tolist() for i in range(len(tokens))]
    theirs.index((corpus, {t: j for j, t in enumerate(tokens.vocab)}), show_progress=False)
    for part in ("data", "indices", "indptr"):
        mine, bm = np.asarray(ours._bm25.scores[part]), np.asarray(theirs.scores[part])  # type: ignore[attr-defined]
        assert mine.dtype == bm.dtype and np.array_equal(mine, bm), part
    assert ours._bm25.scores["num_docs"] == theirs.scores["num_docs"]  # type: ignore[attr-defined]
    assert ours._bm25.vocab_dict == theirs.vocab_dict  # type: ignore[attr-defined]
    # Built from the strings, bm25s orders its vocabulary differently, but scores every text the same.
    strings = bm25s.BM25(method="lucene")
    strings.index([[tokens.vocab[j] for j in doc] for doc in corpus], show_progress=False)
    for query in ("贸易额", "熊猫节 游客", "GDP 美元", "巴基斯坦 份额"):
        terms = [t for t in tokenize(query) if t in strings.vocab_dict]
        assert np.array_equal(ours.scores(query), np.asarray(strings.get_scores(terms), dtype=np.float32))


def test_a_saved_keyword_index_scores_exactly_as_bm25s_reads_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The query side reads the saved matrices itself (no bm25s, scipy or numba at start-up): the same
    float32 scores as bm25s's own loader gives, on every query of a small corpus."""
    import bm25s
    import numpy as np

    from qa.retrieval.keywords import SavedBM25

    texts = ["哈萨克斯坦与巴基斯坦的贸易额", "貿易額提升至10亿美元", "GDP grew by 6.5% last year", "贸易 贸易 贸易额 合作", ""]
    built = KeywordIndex([f"c{i}" for i in range(len(texts))], texts)
    built.save(tmp_path)
    theirs = bm25s.BM25.load(str(tmp_path), mmap=True, show_progress=False)
    ours = SavedBM25.load(tmp_path)
    assert isinstance(ours, SavedBM25)
    for query in ["贸易额", "巴基斯坦 贸易额 贸易额", "gdp 6.5%", "10亿美元 合作"]:
        terms = [t for t in tokenize(query) if t in ours.vocab_dict]
        assert np.array_equal(ours.get_scores(terms), theirs.get_scores(terms))
    loaded = KeywordIndex.load(tmp_path, built.ids)
    assert loaded.search("贸易额", 3) == built.search("贸易额", 3)
