"""Articles of every format: how fast each reader is, how many articles get a date, and what the text
readers add to `qa index` for .txt — measured on a generated mixed folder, in one run.

    nice -n 5 .venv/bin/python benchmarks/bench_formats.py [--per-format 80] [--work DIR] [--no-index]

The folder is generated (tests/format_files.py builders; every sentence is made up here from templates,
nothing is copied from any corpus): agency-style .txt/.md (title + timestamp line, 2015年1月22日 lines,
22.01.2015 lines, datelines with and without a year, some undated), saved pages with boilerplate (date in
the markup or only in the text), PDFs of two pages, .docx files, and CSV/JSONL exports with odd columns
and some bad rows. Printed, per format: files, articles, problems, read time and articles/s (reader
only), then `qa index` articles/s for each format's folder (real embedder, fresh store), and the share of
articles dated. The .txt ratio: `qa index` of the .txt folder, timed, against the reading it contains,
split into what reading cost before these readers (read + decode + hash) and what the title/date/dateline
reading adds on top: added / index time must stay ≤ 10%. Figures, never assertions; written to
benchmarks/results/formats.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from format_files import csv_text, docx_bytes, jsonl_text, page_html, pdf_bytes, write  # noqa: E402

CITIES_ZH = ["阿斯塔纳", "柏林", "北京", "塔什干", "比什凯克", "伊斯兰堡", "乌兰巴托", "杜尚别", "巴库", "第比利斯"]
CITIES_EN = ["ASTANA", "BERLIN", "BEIJING", "TASHKENT", "BISHKEK", "ISLAMABAD", "ULAANBAATAR", "DUSHANBE", "BAKU", "TBILISI"]
THINGS_ZH = ["风力发电站", "物流中心", "铁路货运线", "农业示范园", "数据中心", "水处理厂", "医疗中心", "职业学校"]
THINGS_EN = ["wind farm", "logistics hub", "rail freight line", "farm research park", "data centre", "water plant",
             "hospital wing", "vocational school"]
AGENCIES_EN = ["Xinhua", "Reuters", "AP", "Kazinform"]


def zh_body(rng: random.Random, m: int, d: int, dateline: str | None) -> str:
    city, thing = rng.choice(CITIES_ZH), rng.choice(THINGS_ZH)
    n, cost, jobs = rng.randint(2, 19), rng.randint(3, 90), rng.randint(200, 9000)
    lead = f"{dateline} " if dateline else f"{city}消息，"
    return (f"{lead}当地政府{d}日宣布，将与合作伙伴共同建设{n}座{thing}，总投资约{cost}亿元。\n"
            f"项目负责人表示，工程计划分三期完成，预计可创造{jobs}个就业岗位。\n"
            f"据介绍，首期工程将于{m % 12 + 1}月开工，所需设备主要通过铁路运输。\n"
            f"专家认为，该项目有助于改善地区基础设施，并带动相关产业发展。\n")


def en_body(rng: random.Random, m: int, d: int, dateline: str | None) -> str:
    city, thing = rng.choice(CITIES_EN).title(), rng.choice(THINGS_EN)
    n, cost, jobs = rng.randint(2, 19), rng.randint(3, 90), rng.randint(200, 9000)
    lead = f"{dateline} " if dateline else ""
    return (f"{lead}Officials in {city} said on Tuesday that {n} new {thing}s would be built with partners, at a cost of about {cost} million dollars.\n"
            f"The project manager said the work would be done in three phases and could create {jobs} jobs.\n"
            f"The first phase is due to start next month, with most equipment arriving by rail.\n"
            f"Analysts said the project should improve the region's infrastructure and help local industry.\n")


MONTHS_EN = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]


def text_article(rng: random.Random, i: int) -> tuple[str, str]:
    """(file name, content) in one of the layouts agencies and archives use; about 1 in 8 undated."""
    y, m, d = rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28)
    zh = i % 2 == 0
    style = i % 8
    title = (f"{rng.choice(CITIES_ZH)}将建设新的{rng.choice(THINGS_ZH)}" if zh
             else f"{rng.choice(CITIES_EN).title()} to build a new {rng.choice(THINGS_EN)}")
    body_of = zh_body if zh else en_body
    name = f"{i:04d}_{'zh' if zh else 'en'}.txt" if i % 5 else f"{i:04d}_{'zh' if zh else 'en'}.md"
    if style == 0:
        return name, f"{title}\n{y}-{m:02d}-{d:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00\n{body_of(rng, m, d, None)}"
    if style == 1:
        return name, f"{title}\n{y}年{m}月{d}日\n\n{body_of(rng, m, d, None)}"
    if style == 2:
        return name, f"{title}\n\n{d:02d}.{m:02d}.{y}\n\n{body_of(rng, m, d, None)}"
    if style == 3:  # dateline without a year; the year from another date in the text
        line = (f"新华社{rng.choice(CITIES_ZH)}{m}月{d}日电" if zh else f"{rng.choice(CITIES_EN)}, {MONTHS_EN[m - 1]} {d} ({rng.choice(AGENCIES_EN)}) --")
        extra = f"该计划于{y}年{m}月{max(1, d - 1)}日首次公布。\n" if zh else f"The plan was first announced on {y}-{m:02d}-{max(1, d - 1):02d}.\n"
        return name, f"{title}\n\n{body_of(rng, m, d, line)}{extra}"
    if style == 4:  # dateline with its year
        line = f"本报{rng.choice(CITIES_ZH)}{y}年{m}月{d}日讯" if zh else f"{rng.choice(CITIES_EN)}, {MONTHS_EN[m - 1]} {d}, {y} ({rng.choice(AGENCIES_EN)}) -"
        return name, f"{title}\n\n{body_of(rng, m, d, line)}"
    if style == 5:
        return name, f" date {y}-{m:02d}-{d:02d}\n{body_of(rng, m, d, None)}"
    if style == 6:  # the date only in the file name
        return f"{y}-{m:02d}-{d:02d}_{name}", f"{title}\n\n{body_of(rng, m, d, None)}"
    return name, body_of(rng, m, d, None)  # undated


def generate(folder: Path, per_format: int, seed: int = 15) -> dict[str, Path]:
    """One subfolder per format (so each can be indexed alone), plus `mixed/` holding all of them."""
    rng = random.Random(seed)
    dirs = {k: folder / k for k in ("text", "html", "pdf", "docx", "exports")}
    for i in range(per_format):
        name, content = text_article(rng, i)
        write(dirs["text"] / name, content)
    for i in range(per_format):
        y, m, d = rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28)
        zh = i % 2 == 0
        body = (zh_body if zh else en_body)(rng, m, d, None).strip().split("\n")
        if i % 4 in (1, 2):  # English and Chinese
            body = body[:2]  # a short item: trafilatura must not pad it with the menus
        title = f"{rng.choice(THINGS_EN).title()} plan {i}" if not zh else f"{rng.choice(CITIES_ZH)}{rng.choice(THINGS_ZH)}项目{i}"
        if i % 3 == 0:  # the date only in the page's text
            body = [f"{y}年{m}月{d}日" if zh else f"{d:02d}.{m:02d}.{y}", *body]
            page = page_html(title, body)
        else:
            page = page_html(title, body, date=f"{y}-{m:02d}-{d:02d}T08:00:00+00:00", author="Desk",
                             saved_from=f"https://news.example.org/{y}/{m:02d}/{i}.html")
        write(dirs["html"] / f"page_{i:04d}.html", page)
    for i in range(per_format // 2):
        y, m, d = rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28)
        body = en_body(rng, m, d, f"{rng.choice(CITIES_EN)}, {MONTHS_EN[m - 1]} {d}, {y} ({rng.choice(AGENCIES_EN)}) -")
        paras = body.strip().split("\n")
        write(dirs["pdf"] / f"report_{i:04d}.pdf",
              pdf_bytes([f"Report {i}: {rng.choice(THINGS_EN)}\n\n" + "\n\n".join(paras[:2]), "\n\n".join(paras[2:]) * 3],
                        header="Test Wire Service", numbers=True))
    for i in range(per_format // 2):
        y, m, d = rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28)
        paras = en_body(rng, m, d, None).strip().split("\n")
        write(dirs["docx"] / f"memo_{i:04d}.docx", docx_bytes([f"{d:02d}.{m:02d}.{y}" if i % 4 else "", *paras],
                                                              title=f"Memo {i} on the {rng.choice(THINGS_EN)}"))
    rows, objs = [], []
    for i in range(per_format):
        y, m, d = rng.randint(2012, 2025), rng.randint(1, 12), rng.randint(1, 28)
        zh = i % 2 == 0
        text = (zh_body if zh else en_body)(rng, m, d, None)
        date = [f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d} 10:00", f"{d:02d}.{m:02d}.{y}", "unknown"][i % 4]
        rows.append([str(i), f"Export headline {i}", date, "" if i % 17 == 5 else text, f"https://db.example.org/{i}"])
        objs.append({"headline": f"Feed item {i}", "story": text, "meta": {"published": f"{y}-{m:02d}-{d:02d}T09:00:00Z"}})
    write(dirs["exports"] / "archive.csv", csv_text(["ID", "Headline", "Published At", "Body", "Link"], rows, delimiter=";"))
    write(dirs["exports"] / "feed.jsonl", jsonl_text(objs, bad_lines={3: "{broken"}))
    mixed = folder / "mixed"
    mixed.mkdir(parents=True, exist_ok=True)
    for sub in dirs.values():
        for path in sub.iterdir():
            shutil.copy(path, mixed / path.name)
    return {**dirs, "mixed": mixed}


def _how(source: str) -> str:
    """'date line', 'dateline', 'dateline + year from …', 'page metadata', 'export column', … (for counting)."""
    if source.startswith("the ") and source.endswith(" column"):
        return "export column"
    if source.startswith("dateline"):
        if "year from the file name" in source:
            return "dateline, year from the file name"
        return "dateline, year from the text" if "year from" in source else "dateline"
    return source.split(" '")[0].split(" (")[0]


def read_all(folder: Path) -> tuple[float, list, list]:
    from qa.articles import load_articles

    started = time.perf_counter()
    loaded = load_articles(folder)
    return time.perf_counter() - started, loaded.articles, loaded.problems


def baseline_text_read(folder: Path) -> float:
    """What reading .txt cost before the title/date readers: read, decode, hash (the old loader's work)."""
    from qa.articles.text import decode_text

    started = time.perf_counter()
    for path in sorted(folder.iterdir()):
        text = decode_text(path.read_bytes(), path.name)
        hashlib.sha256(text.encode("utf-8")).hexdigest()
    return time.perf_counter() - started


def index_folder(folder: Path, store: Path, embeddings) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    shutil.rmtree(store, ignore_errors=True)
    settings = Settings(articles_dir=folder, vectorstore_dir=store)
    started = time.perf_counter()
    report = Pipeline(settings, embeddings).build()
    return time.perf_counter() - started, len(report.added)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-format", type=int, default=80, help="text files, pages and export rows each (PDF, .docx: half)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-formats"))
    parser.add_argument("--no-index", action="store_true", help="readers only (no embedding)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "formats.md")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    dirs = generate(args.work / "folders", args.per_format)
    # Warm the readers' imports and caches once (trafilatura, pypdf, dateparser's languages), as a long
    # `qa index` would have them: the per-format figures are then steady-state reading.
    read_all(dirs["mixed"])

    rows, by_kind, dated = [], Counter(), Counter()
    for kind in ("text", "html", "pdf", "docx", "exports"):
        files = len(list(dirs[kind].iterdir()))
        seconds, articles, problems = read_all(dirs[kind])
        n_dated = sum(a.date is not None for a in articles)
        by_kind[kind], dated[kind] = len(articles), n_dated
        rows.append({"format": kind, "files": files, "articles": len(articles), "problems": len(problems),
                     "read_s": seconds, "read_per_s": len(articles) / seconds if seconds else 0.0,
                     "dated": n_dated / len(articles) if articles else 0.0})
    mixed_s, mixed_articles, mixed_problems = read_all(dirs["mixed"])
    # The generated pages put navigation, an ad, related links, comments and a footer around the article.
    markers = ("Subscribe for one euro", "ADVERTISEMENT", "Related stories", "First! Totally", "All rights reserved")
    pages = [a for a in mixed_articles if a.source.kind == "html"]
    padded = sum(any(m in a.text for m in markers) for a in pages)
    undated = [a for a in mixed_articles if a.date is None]
    sources = Counter(_how(a.date_source) for a in mixed_articles if a.date)

    index: dict[str, dict] = {}
    ratio = None
    if not args.no_index:
        from qa.models.embeddings import load_embeddings
        from qa.settings import Settings

        embeddings = load_embeddings(Settings())
        embeddings.embed_documents(["warm up"])
        for row in rows:
            seconds, added = index_folder(dirs[row["format"]], args.work / f"store_{row['format']}", embeddings)
            index[row["format"]] = {"index_s": seconds, "added": added, "per_s": added / seconds if seconds else 0.0}
        text_read_s = read_all(dirs["text"])[0]
        base_s = baseline_text_read(dirs["text"])
        index_s = index["text"]["index_s"]
        ratio = {"index_s": index_s, "read_s": text_read_s, "baseline_read_s": base_s,
                 "added_s": max(0.0, text_read_s - base_s), "added_share": max(0.0, text_read_s - base_s) / index_s,
                 "read_share": text_read_s / index_s}

    lines = ["# Article formats: readers, dates, `qa index`", "",
             f"Generated folder: {sum(r['files'] for r in rows)} files, {len(mixed_articles)} articles "
             f"(`python benchmarks/bench_formats.py --per-format {args.per_format}`), "
             f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}.", "",
             "| format | files | articles | problems | read s | read articles/s | `qa index` articles/s | dated |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        per_s = f"{index[r['format']]['per_s']:.2f}" if r["format"] in index else "—"
        lines.append(f"| {r['format']} | {r['files']} | {r['articles']} | {r['problems']} | {r['read_s']:.3f} | "
                     f"{r['read_per_s']:.0f} | {per_s} | {r['dated']:.0%} |")
    lines += ["", f"Mixed folder: {len(mixed_articles)} articles read in {mixed_s:.2f} s "
              f"({len(mixed_articles) / mixed_s:.0f}/s), {len(mixed_problems)} problems reported, "
              f"dated {1 - len(undated) / len(mixed_articles):.1%} ({len(undated)} undated).",
              "How the dates were found: " + ", ".join(f"{k} {v}" for k, v in sources.most_common()) + ".",
              f"Pages with any of their boilerplate left in the text: {padded} of {len(pages)}."]
    if ratio:
        lines += ["", f"`.txt`: `qa index` {ratio['index_s']:.1f} s for {index['text']['added']} articles; reading them "
                  f"{ratio['read_s']:.3f} s, of which the title/date/dateline readers add {ratio['added_s']:.3f} s over "
                  f"read + decode + hash ({ratio['baseline_read_s']:.3f} s): **{ratio['added_share']:.2%}** of `qa index` "
                  f"time (all reading: {ratio['read_share']:.2%}); target ≤ 10%."]
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps({"rows": rows, "index": index, "ratio": ratio,
                                                         "undated": [a.id for a in undated]}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
