"""`qa eval` and `qa verify`: the command-line side of qa/evaluation.py and qa/verification.py.

Registered on the main `cli` group in qa/cli/commands.py; thin like the rest of the CLI.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qa.errors import QAError

if TYPE_CHECKING:  # imported when a command runs: `qa --help` must not pay for pydantic-settings
    from qa.settings import Settings

_LABEL_COLOURS = {"supported": "green", "partly supported": "yellow", "unsupported": "white", "contradicted": "red"}


@click.command("eval")
@click.argument("gold", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--passages", type=click.Path(path_type=Path, dir_okay=False),
              help="Passages JSONL {id,title,text} (DRCD/SQuAD-style gold): indexed as articles, id = passage id.")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False),
              help="With --passages: where the articles and index are kept (reused by later runs) [a temp folder].")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions (quick runs).")
@click.option("-k", type=click.IntRange(1, 50), help="Passages the answerer retrieves [QA_K].")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("eval-report"),
              show_default=True, help="Folder for eval.json and eval.html.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A previous eval.json: show deltas; exit 1 if a metric regressed beyond --tolerance.")
@click.option("--tolerance", type=float, default=0.02, show_default=True, help="Allowed loss per metric vs --baseline.")
@click.option("--ragas", "ragas_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a ragas dataset (question, answer, contexts, ground_truth / reference) here.")
@click.option("--no-faithfulness", is_flag=True, help="Skip checking each answer sentence against its citations (faster).")
@click.pass_obj
def eval_command(settings: Settings, gold: Path, passages: Path | None, workdir: Path | None, limit: int | None,
                 k: int | None, out_dir: Path, baseline: Path | None, tolerance: float, ragas_path: Path | None,
                 no_faithfulness: bool) -> None:
    """Score the system on GOLD (JSONL questions): retrieval hit@k/MRR, answer EM/F1/containment,
    citation precision, faithfulness, refusals, latency. Writes a table, eval.json and eval.html."""
    from tqdm import tqdm

    from qa import evaluation as ev
    from qa.pipeline import Pipeline

    items = ev.load_gold(gold, limit)
    if passages is not None:
        work = workdir or Path(tempfile.mkdtemp(prefix="qa-eval-"))
        n = ev.write_passages_as_articles(passages, work / "articles")
        click.echo(f"{n} passages as articles in {work / 'articles'}", err=True)
        settings = settings.model_copy(update={"articles_dir": work / "articles", "vectorstore_dir": work / "vectorstore",
                                               "chroma_url": None})
    pipeline = Pipeline(settings)
    if passages is not None or not pipeline.index.exists():
        click.echo(f"indexing {settings.articles_dir} …", err=True)
        click.echo(pipeline.build().summary(), err=True)
    bar = tqdm(total=len(items), unit="question", desc="evaluating", disable=None, leave=False, file=sys.stderr)
    report = ev.evaluate(pipeline, items, k=k, faithfulness=not no_faithfulness, progress=lambda i, n: bar.update(i - bar.n))
    bar.close()
    report.meta["gold"] = str(gold)
    if passages is not None:
        report.meta["passages"] = str(passages)
        # Benchmark data keeps its attribution in every report made from it (DRCD: CC BY-SA 3.0).
        readme = passages.parent / "README.txt"
        if readme.is_file():
            lines = [ln.strip() for ln in readme.read_text(encoding="utf-8").splitlines()
                     if ln.strip().startswith(("Source", "Dataset", "License"))]
            report.meta["attribution"] = " | ".join(" ".join(ln.split()) for ln in lines)
    deltas: list[ev.Delta] = []
    if baseline is not None:
        try:
            deltas = ev.compare(report.metrics, json.loads(baseline.read_text(encoding="utf-8")), tolerance)
        except (json.JSONDecodeError, ValueError, TypeError) as exc:
            raise QAError(f"{baseline} is not an eval report ({exc}); pass an eval.json written by `qa eval`") from None
    click.echo(ev.format_table(report.metrics, deltas))
    ev.write_json(report, out_dir / "eval.json")
    ev.write_html(report, out_dir / "eval.html", deltas)
    click.echo(f"\nreports: {out_dir / 'eval.json'}  {out_dir / 'eval.html'}")
    if ragas_path is not None:
        click.echo(f"ragas dataset: {ev.write_ragas(report, ragas_path)} rows in {ragas_path}")
    regressions = [d for d in deltas if d.regression]
    if regressions:
        names = ", ".join(f"{d.metric} {d.baseline:.3f}→{d.current:.3f}" for d in regressions)
        click.secho(f"regression beyond tolerance {tolerance}: {names}", fg="red", err=True)
        sys.exit(1)


@click.command("verify")
@click.argument("text", required=False)
@click.option("--file", "file_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Read the answer from a file.")
@click.option("--question", help="The question the answer replies to (helps with short answers).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def verify_command(settings: Settings, text: str | None, file_path: Path | None, question: str | None, as_json: bool) -> None:
    """Check an answer (TEXT, --file, or '-' for stdin) against the articles, sentence by sentence:
    supported / partly supported / unsupported / contradicted, with evidence."""
    from qa.pipeline import Pipeline
    from qa.verification import Verifier

    if file_path is not None:
        text = file_path.read_text(encoding="utf-8")
    elif text == "-" or text is None:
        if text is None and sys.stdin.isatty():
            raise QAError("no answer to check: pass it as an argument, with --file, or pipe it in with '-'")
        text = sys.stdin.read()
    result = Verifier(Pipeline(settings)).verify(text, question)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    for i, s in enumerate(result.sentences, start=1):
        click.echo(f"{i}. " + click.style(f"[{s.label}]", fg=_LABEL_COLOURS[s.label], bold=True) + f" {s.sentence}")
        for c in s.contradictions:
            click.echo(f"     ✗ {c.kind}: the answer says {c.claim!r}, the article says {c.source!r} (evidence [{c.evidence + 1}])")
        if s.missing and s.label != "supported":
            click.echo(f"     ? not in the articles: {', '.join(s.missing)}")
        if s.label == "unsupported":
            continue
        # The best evidence, and every sentence a contradiction quotes, each with its citation.
        shown = sorted({0, *(c.evidence for c in s.contradictions)})
        for n in shown:
            if n >= len(s.evidence):
                continue
            e = s.evidence[n]
            who = f" (said by {e.speaker})" if e.speaker else ""
            click.echo(f"     [{n + 1}] {e.article_id} · {e.date or 'undated'} · chars {e.start}–{e.end}{who}")
            click.echo(f"       {e.sentence}")
    counts = ", ".join(f"{n} {label}" for label, n in result.counts.items() if n)
    click.echo(f"\nscore {result.score:.2f} ({counts})")
