"""qa eval: metric functions on hand-computed cases, and one real end-to-end run of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa import evaluation as ev
from qa.cli import cli

GOLD = Path(__file__).resolve().parent / "data" / "gold.jsonl"


# --------------------------------------------------------------------------- answer metrics
def test_normalize_answer_folds_width_script_case_and_punctuation() -> None:
    assert ev.normalize_answer("１０億美元。") == "10亿美元"
    assert ev.normalize_answer("“塔什干”酒店") == "塔什干酒店"
    assert ev.normalize_answer("1.5萬美元") == "1.5万美元"  # the decimal point survives
    assert ev.normalize_answer("GDP 6.5 %!") == "gdp6.5%"
    assert ev.normalize_answer("超过3000亿美元[1]") == "超过3000亿美元"  # citation markers are not answer text


def test_exact_match_full_width_traditional_and_multiple_references() -> None:
    assert ev.exact_match("１０億美元", ["10亿美元"]) == 1.0
    assert ev.exact_match("貿易額", ["贸易额"]) == 1.0
    assert ev.exact_match("约2亿美元", ["2亿美元"]) == 0.0
    assert ev.exact_match("约2亿美元", ["2亿美元", "约2亿美元"]) == 1.0  # max over references
    assert ev.exact_match("anything", []) == 0.0


def test_f1_is_character_level_for_chinese_and_keeps_numbers_whole() -> None:
    # tokens: pred 约 2 亿 美 元 (5), gold 2 亿 美 元 (4); overlap 4 → P 4/5, R 1 → F1 8/9
    assert ev.f1_score("约2亿美元", ["2亿美元"]) == pytest.approx(8 / 9)
    # "20" and "2" are different tokens: a wrong number is not a near miss
    assert ev.f1_score("20亿", ["2亿"]) == pytest.approx(0.5)
    # best over references; punctuation does not count
    assert ev.f1_score("中间走廊。", ["丝绸之路", "“中间走廊”"]) == 1.0
    assert ev.answer_tokens("InDrive占60%") == ["indrive", "占", "60%"]
    assert ev.f1_score("", ["x"]) == 0.0


def test_containment() -> None:
    assert ev.contains_answer("将双边贸易额提升至１０億美元。[1]", ["10亿美元"])
    assert not ev.contains_answer("提升至20亿美元", ["10亿美元"])
    assert not ev.contains_answer("text", [""])


# --------------------------------------------------------------------------- retrieval + aggregation
def test_ranks_hits_mrr_and_percentiles() -> None:
    assert ev.first_rank([False, False, True, True]) == 3
    assert ev.first_rank([False]) is None
    assert ev.hit_at(3, 3) == 1.0 and ev.hit_at(3, 1) == 0.0 and ev.hit_at(None, 10) == 0.0
    assert ev.reciprocal_rank(4) == 0.25 and ev.reciprocal_rank(None) == 0.0
    assert ev.percentile([0.3, 0.1, 0.2, 0.4], 50) == 0.2
    assert ev.percentile([float(i) for i in range(1, 21)], 95) == 19.0
    assert ev.article_key("abc.txt") == ev.article_key("abc") == "abc"


def _outcome(answerable: bool, refused: bool, rank: int | None, contained: bool = False, seconds: float = 0.1) -> ev.Outcome:
    return ev.Outcome("q", "?", answerable, ["x"] if answerable else [], [], "", refused, seconds, [], [],
                      rank_article=rank, rank_answer_loose=rank, rank_answer_strict=rank, contained=contained)


def test_aggregate_hand_computed() -> None:
    outcomes = [
        _outcome(True, False, 1, contained=True),
        _outcome(True, False, 3),
        _outcome(True, True, None),
        _outcome(False, True, None),
        _outcome(False, False, None),
    ]
    m, curve = ev.aggregate(outcomes)
    assert m["answerable"] == 3 and m["unanswerable"] == 2
    assert m["hit@1_article"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["hit@3_article"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["mrr_article"] == pytest.approx((1 + 1 / 3) / 3, abs=1e-4)
    assert m["containment"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["refusal_accuracy"] == 0.5
    assert m["false_refusal_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["accuracy"] == pytest.approx(2 / 5)
    assert curve["article"]["10"] == pytest.approx(2 / 3, abs=1e-4)


def test_compare_flags_only_losses_beyond_tolerance() -> None:
    base = {"metrics": {"containment": 0.80, "false_refusal_rate": 0.10, "latency_p50_s": 0.1, "f1": 0.5}}
    deltas = {d.metric: d for d in ev.compare({"containment": 0.79, "false_refusal_rate": 0.15, "latency_p50_s": 9.0, "f1": 0.6}, base, 0.02)}
    assert not deltas["containment"].regression  # within tolerance
    assert deltas["false_refusal_rate"].regression  # lower is better, went up by 0.05
    assert not deltas["latency_p50_s"].regression  # never gated
    assert not deltas["f1"].regression and deltas["f1"].change == pytest.approx(0.1)


def test_load_gold_both_formats(tmp_path: Path) -> None:
    raw = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    native = ev.load_gold(GOLD)
    assert len(native) == len(raw) and sum(not g.answerable for g in native) == sum(not r["answerable"] for r in raw)
    assert [g.id for g in native] == [r["id"] for r in raw]
    drcd = tmp_path / "q.jsonl"
    drcd.write_text(json.dumps({"id": "d1", "question": "誰？", "answers": ["某人"], "passage_id": "p7"}, ensure_ascii=False) + "\n")
    (item,) = ev.load_gold(drcd)
    assert item.answerable and item.articles == ["p7"] and item.answers == ["某人"]
    assert len(ev.load_gold(GOLD, limit=4)) == 4
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(ev.QAError, match="bad.jsonl:1"):
        ev.load_gold(bad)


def test_recall_svg_is_inline_and_escaped() -> None:
    svg = ev.recall_svg({"article": {"1": 0.5, "5": 1.0}, "<x>": {"1": 0.0, "5": 0.25}})
    assert svg.startswith("<svg") and "&lt;x&gt;" in svg and "<x>" not in svg


# --------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_qa_eval_cli_end_to_end_writes_reports_and_gates_on_baseline(seed_pipeline, seed_settings, tmp_path: Path) -> None:
    runner = CliRunner()
    base_args = ["--articles", str(seed_settings.articles_dir), "--vectorstore", str(seed_settings.vectorstore_dir)]
    out = tmp_path / "report"
    result = runner.invoke(cli, [*base_args, "eval", str(GOLD), "--out", str(out), "--ragas", str(tmp_path / "ragas.jsonl")])
    assert result.exit_code == 0, result.output
    assert "hit@5_article" in result.output and "refusal_accuracy" in result.output

    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    m = report["metrics"]
    n_gold = sum(1 for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip())
    assert m["questions"] == n_gold and len(report["questions"]) == n_gold
    # the seed index is tiny: the right article is always among the first five chunks
    assert m["hit@5_article"] == 1.0
    assert 0.5 <= m["containment"] <= 1.0 and 0 <= m["faithfulness"] <= 1
    assert m["latency_p95_s"] >= m["latency_p50_s"] > 0
    page = (out / "eval.html").read_text(encoding="utf-8")
    assert "<svg" in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "哈萨克斯坦" in page or "哈薩克斯坦" in page
    rows = [json.loads(line) for line in (tmp_path / "ragas.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == n_gold and {"question", "answer", "contexts", "ground_truth", "user_input", "reference"} <= set(rows[0])
    assert rows[0]["contexts"]

    # a baseline that is better than anything achievable → non-zero exit naming the metric
    better = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    better["metrics"]["containment"] = 1.5
    (tmp_path / "better.json").write_text(json.dumps(better), encoding="utf-8")
    gated = runner.invoke(cli, [*base_args, "eval", str(GOLD), "--limit", "3", "--no-faithfulness", "--out",
                                str(tmp_path / "r2"), "--baseline", str(tmp_path / "better.json")])
    assert gated.exit_code == 1
    assert "REGRESSION" in gated.output and "containment" in gated.output

    # its own report as baseline → no regression
    same = runner.invoke(cli, [*base_args, "eval", str(GOLD), "--limit", "3", "--no-faithfulness", "--out",
                               str(tmp_path / "r3"), "--baseline", str(tmp_path / "r2" / "eval.json")])
    assert same.exit_code == 0, same.output
