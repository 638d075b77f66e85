import datetime as dt

from qa.keywords import KeywordIndex, normalize, tokenize
from qa.retrieval import RRF_K, reciprocal_rank_fusion


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
    from qa.retrieval import Filters

    return Filters(None, None, None)
