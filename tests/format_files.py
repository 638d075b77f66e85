"""Builders of real article files of every format (PDF by fpdf2, .docx by python-docx, pages, exports),
shared by tests/test_formats.py and benchmarks/bench_formats.py. All text here is written for the tests."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
"""Debian's fonts-noto-cjk (installed by `make test`); index 2 of the collection is Simplified Chinese."""


def pdf_bytes(pages: list[str], *, title: str | None = None, header: str | None = None, numbers: bool = False,
              cjk: bool = False, password: str | None = None) -> bytes:
    """A real PDF: one multi-line text block per page (paragraphs separated by blank lines), with an
    optional running header and page numbers, metadata title, CJK font and user password."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    if cjk:
        pdf.add_font("noto", fname=str(CJK_FONT), collection_font_number=2)
        pdf.set_font("noto", size=11)
    else:
        pdf.set_font("Helvetica", size=11)
    if password is not None:
        from fpdf.enums import EncryptionMethod

        pdf.set_encryption(owner_password="owner-" + password, user_password=password,
                           encryption_method=EncryptionMethod.AES_128)
    for n, page in enumerate(pages, start=1):
        pdf.add_page()
        if header:
            pdf.set_xy(10, 8)
            pdf.cell(0, 5, header)
        pdf.set_xy(10, 20)
        pdf.multi_cell(0, 6, page)
        if numbers:
            pdf.set_xy(10, 285)
            pdf.cell(0, 5, str(n), align="C")
    return bytes(pdf.output())


def image_pdf_bytes() -> bytes:
    """A 'scanned' PDF: one page holding only an image, no text layer."""
    from fpdf import FPDF
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 200, 200)).save(picture, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(picture, x=10, y=10, w=120)
    return bytes(pdf.output())


def docx_bytes(paragraphs: list[str], *, title: str | None = None, table: list[list[str]] | None = None,
               author: str | None = None) -> bytes:
    """A real .docx: a Title-styled first paragraph (if `title`), body paragraphs, an optional table."""
    import docx

    document = docx.Document()
    if author:
        document.core_properties.author = author
    if title:
        document.add_paragraph(title, style="Title")
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def page_html(title: str, paragraphs: list[str], *, date: str | None = None, author: str | None = None,
              saved_from: str | None = None) -> str:
    """A saved news page: navigation, an ad, related links, comments and a footer around the article."""
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    meta += f'<meta name="author" content="{html.escape(author)}">' if author else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    mark = f"<!-- saved from url=({len(saved_from):04d}){saved_from} -->\n" if saved_from else ""
    return f"""{mark}<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)} | Daily Wire Test</title>{meta}
<script>window.tracking = {{"page": "article"}};</script><style>.ad {{ color: red }}</style></head>
<body><header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/subscribe">Subscribe for one euro a month</a></li></ul></nav></header>
<div class="ad banner">ADVERTISEMENT: cheap flights to everywhere, book now and save big</div>
<main><article><h1>{html.escape(title)}</h1>{body}</article>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Weather turns cold in the north</a></li>
<li><a href="/b">Local team wins the cup final</a></li></ul></aside>
<section id="comments" class="comments"><h3>Comments</h3><div class="comment"><p>First! Totally agree with this excellent article, great reporting.</p></div></section>
</main><footer><p>Copyright Daily Wire Test. All rights reserved. Privacy policy. Contact us.</p></footer></body></html>"""


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def jsonl_text(objects: list[object], bad_lines: dict[int, str] | None = None) -> str:
    lines = [json.dumps(o, ensure_ascii=False) for o in objects]
    for at, line in sorted((bad_lines or {}).items()):
        lines.insert(at, line)
    return "\n".join(lines) + "\n"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path
