"""End to end in real headless Chromium: ask, click a citation, open the article, stay inert on hostile text.

Screenshots (desktop 1280 px and phone 390 px) are saved to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from qa.pipeline import Pipeline
from qa.settings import Settings
from conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--no-pings",
]
XSS_ARTICLE = (
    " date 2025-06-01\n"
    "吉尔吉斯斯坦宣布新建卡姆巴拉塔水电站<script>window.__xss = 'script'</script>，"
    "项目说明<img src=x onerror=\"window.__xss = 'img'\">已经公布。"
    "水电站的装机容量为一百万千瓦[详情](javascript:window.__xss='link')。\n"
)
XSS_QUESTION = "卡姆巴拉塔水电站的装机容量是多少？"
QUESTION = "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？"



@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from qa.ui.app import serve

    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(SEEDS, root / "articles")
    (root / "articles" / "xss.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    pipeline = Pipeline(Settings(articles_dir=root / "articles", vectorstore_dir=root / "vectorstore"), embeddings)
    pipeline.build()
    app = serve(pipeline, port=free_port(), block=False)
    try:
        yield app.local_url
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(artifacts_dir: Path) -> Path:
    folder = artifacts_dir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, url: str, width: int, height: int, outside: list[str]):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    host = urlparse(url).hostname

    def record(request) -> None:  # type: ignore[no-untyped-def]
        h = urlparse(request.url).hostname
        if h and h != host and not request.url.startswith(("data:", "blob:")):
            outside.append(request.url)

    page.on("request", record)
    page.goto(url, wait_until="load")
    page.locator("#qa-question textarea, #qa-question input").first.wait_for(timeout=60_000)
    return context, page


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    n = page.locator("#qa-chat .qa-bot").count()
    box = page.locator("#qa-question textarea, #qa-question input").first
    box.fill(question)
    box.press("Enter")
    page.locator("#qa-chat .qa-bot").nth(n).locator(".qa-answer:not(.qa-pending)").wait_for(timeout=120_000)


def test_ask_click_citation_open_article_desktop(browser, page_url: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    context, page = open_page(browser, page_url, 1280, 900, outside)
    try:
        ask(page, QUESTION)
        answer = page.locator("#qa-chat .qa-bot .qa-answer").last
        assert "10亿美元" in answer.inner_text()
        markers = answer.locator("button.qa-cite")
        assert markers.count() >= 1
        # Click the marker of the sentence that holds the figure: the reader shows it highlighted.
        target = next(i for i in range(markers.count())
                      if "10亿美元" in page.evaluate("(b) => b.previousSibling ? b.previousSibling.textContent : ''",
                                                    markers.nth(i).element_handle()))
        markers.nth(target).click()
        hit = page.locator("#qa-chat .qa-reader-cite mark.qa-hit")
        hit.wait_for()
        assert "10亿美元" in hit.inner_text()
        reader = page.locator("#qa-chat .qa-reader-cite").inner_text()
        assert "2026-02-07" in reader and "000_5e0bde8b062db4d5.txt" in reader
        page.screenshot(path=str(shots / "desktop-1280-answer.png"), full_page=True)

        page.locator("#qa-chat .qa-reader-cite .qa-open").click()
        article_hit = page.locator("#qa-article-hit")
        article_hit.wait_for(timeout=30_000)
        assert "10亿美元" in article_hit.inner_text()
        full = page.locator("#qa-chat .qa-article-text").inner_text()
        assert full.startswith("阿科尔达新闻处消息") and len(full) > 1000
        # Scrolled into view inside the article box.
        box = page.locator("#qa-chat .qa-article-text").bounding_box()
        mark = article_hit.bounding_box()
        assert box and mark and box["y"] - 1 <= mark["y"] <= box["y"] + box["height"]
        page.screenshot(path=str(shots / "desktop-1280-article.png"), full_page=True)

        # A follow-up keeps the subject.
        ask(page, "有多少家巴基斯坦企业？")
        assert "200多家" in page.locator("#qa-chat .qa-bot .qa-answer").last.inner_text()
        assert outside == [], f"the page fetched from outside: {outside}"
    finally:
        context.close()


def test_the_short_answer_is_shown_first_and_highlighted_in_its_sentence(browser, page_url: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    context, page = open_page(browser, page_url, 1280, 900, outside)
    try:
        ask(page, QUESTION)
        answer = page.locator("#qa-chat .qa-bot .qa-answer").last
        # the short answer first, highlighted, then the sentence stating it with the span marked inside it
        short = answer.locator(".qa-short mark.qa-span")
        assert short.inner_text().strip()
        in_sentence = answer.locator(".qa-stated .qa-sentence mark.qa-span").first
        assert in_sentence.inner_text() == short.inner_text()
        assert "10亿美元" in answer.locator(".qa-stated .qa-sentence").first.inner_text()  # the right sentence
        # one source card per passage, however many markers point at it
        cards = page.locator("#qa-chat .qa-bot").last.locator(".qa-cards .qa-card")
        assert cards.count() == len(set(page.evaluate(
            "(el) => Array.from(el.querySelectorAll('button.qa-cite')).map(b => b.dataset.cite)", answer.element_handle())))
        answer.locator("button.qa-cite").first.click()
        # the source reader marks the sentence, and the answer inside it
        passage_span = page.locator("#qa-chat .qa-reader-cite mark.qa-hit mark.qa-span")
        passage_span.wait_for()
        assert passage_span.inner_text() == short.inner_text()
        page.screenshot(path=str(shots / "desktop-1280-short-answer.png"), full_page=True)
        assert outside == [], f"the page fetched from outside: {outside}"
    finally:
        context.close()


def test_hostile_article_renders_inert(browser, page_url: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    context, page = open_page(browser, page_url, 1280, 900, outside)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        ask(page, XSS_QUESTION)
        chat = page.locator("#qa-chat")
        answer_text = chat.locator(".qa-bot .qa-answer").last.inner_text()
        assert "一百万千瓦" in answer_text
        chat.locator(".qa-bot .qa-cite").last.click()
        chat.locator(".qa-reader-cite .qa-open").click()
        page.locator("#qa-article-hit").wait_for(timeout=30_000)
        article = chat.locator(".qa-article-text").inner_text()
        # The markup is shown as text...
        assert "<script>window.__xss = 'script'</script>" in article
        assert "<img src=x onerror=\"window.__xss = 'img'\">" in article
        assert "[详情](javascript:window.__xss='link')" in article
        # ...and none of it became an element or ran.
        assert chat.locator("script, img, a[href^='javascript']").count() == 0
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__xss") is None
        assert dialogs == []
        page.screenshot(path=str(shots / "desktop-1280-hostile-article.png"), full_page=True)
        assert outside == [], f"the page fetched from outside: {outside}"
    finally:
        context.close()


def test_phone_width_layout(browser, page_url: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    context, page = open_page(browser, page_url, 390, 844, outside)
    try:
        ask(page, "托卡耶夫对乌兹别克斯坦说了什么？")
        page.locator("#qa-chat .qa-bot .qa-cite").first.click()
        page.locator("#qa-chat .qa-reader-cite mark.qa-hit").wait_for()
        # Nothing overflows sideways at phone width.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 392
        page.screenshot(path=str(shots / "mobile-390-answer.png"), full_page=True)
        assert outside == [], f"the page fetched from outside: {outside}"
    finally:
        context.close()


def test_upload_from_the_articles_tab(browser, page_url: str, shots: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "mongolia.txt"
    good.write_text(" date 2026-03-01\n哈萨克斯坦与蒙古国签署了开通阿斯塔纳至乌兰巴托直航航线的协议。首个航班将于2026年5月起每周运营三班。", encoding="utf-8")
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\x00\x01binary")
    from format_files import pdf_bytes

    pdf = tmp_path / "report.pdf"  # every format the readers take goes through the page's file picker too
    pdf.write_bytes(pdf_bytes(["Aral fisheries report\n\n2023-04-05\n\nThe Aral fish catch grew to 8,000 tonnes last year."]))
    outside: list[str] = []
    context, page = open_page(browser, page_url, 1280, 900, outside)
    try:
        page.get_by_role("tab", name="Articles").click()
        page.locator("#qa-articles table").wait_for()
        page.locator("input[type=file]").first.set_input_files([str(good), str(bad), str(pdf)])
        page.get_by_role("button", name="Add to the index").click()
        report = page.locator("#qa-upload-report li")
        report.nth(2).wait_for(timeout=120_000)
        text = page.locator("#qa-upload-report").inner_text()
        assert "mongolia.txt: added" in text and "broken.txt: rejected" in text and "binary" in text
        assert "report.pdf: added" in text
        assert "哈萨克斯坦与蒙古国签署了开通阿斯塔纳至乌兰巴托直航航线的协议" in page.locator("#qa-articles").inner_text()
        page.screenshot(path=str(shots / "desktop-1280-articles.png"), full_page=True)
        # "Find articles" narrows the listing (archives are listed 200 at a time)
        page.locator("#qa-find-articles textarea, #qa-find-articles input").first.fill("乌兰巴托")
        page.wait_for_function("() => document.querySelector('#qa-articles').innerText.includes('1 match')", timeout=30_000)
        assert page.locator("#qa-articles tbody tr").count() == 1 and "mongolia.txt" in page.locator("#qa-articles tbody").inner_text()
        page.get_by_role("tab", name="Chat").click()
        ask(page, "阿斯塔纳至乌兰巴托的直航每周运营几班？")
        assert "三班" in page.locator("#qa-chat .qa-bot .qa-answer").last.inner_text()
        assert outside == [], f"the page fetched from outside: {outside}"
    finally:
        context.close()


def test_who_said_what_tab(browser, page_url: str, shots: Path) -> None:  # type: ignore[no-untyped-def]
    """Opens on the latest statements; a speaker's row filters them; type filter; pages; no squeezed name column."""
    outside: list[str] = []
    context, page = open_page(browser, page_url, 1280, 900, outside)
    try:
        page.get_by_role("tab", name="Who said what").click()
        rows = page.locator("#qa-quotes-table tr.qa-quote-row")
        rows.first.wait_for(timeout=60_000)
        assert rows.count() == 25  # one page of the seeds' 34 statements (and the hostile article's one), newest first
        assert "2026-02-07" in rows.first.inner_text() and "person" in rows.first.inner_text()
        label = page.locator("#qa-quotes-page")
        # Names never wrap a character a line: the speaker columns keep a readable width.
        assert page.locator("#qa-quotes-table td.qa-who").first.bounding_box()["width"] >= 120  # type: ignore[index]
        cell = page.locator("#qa-speakers").get_by_text("米尔济约耶夫", exact=True).first
        assert cell.bounding_box()["width"] >= 150  # type: ignore[index]
        page.screenshot(path=str(shots / "desktop-1280-quotes.png"), full_page=True)

        page.locator("#qa-quotes-next").click()
        page.wait_for_function("() => /Statements 26–(\\d+) of \\1 .*page 2 of 2/.test(document.querySelector('#qa-quotes-page').innerText)",
                               timeout=60_000)
        total = int(label.inner_text().split(" of ")[1].split()[0])
        assert total >= 34 and rows.count() == total - 25

        cell.click()  # a speaker's row is a filter
        page.wait_for_function("() => document.querySelector('#qa-quotes-page').innerText.includes('of 2 ')", timeout=60_000)
        assert rows.count() == 2 and all("米尔济约耶夫" in rows.nth(i).inner_text() for i in range(2))
        assert "1–2 of 2" in label.inner_text()
        assert outside == [], f"the page fetched from outside: {outside}"
    finally:
        context.close()
    context, page = open_page(browser, page_url, 390, 844, outside)
    try:
        # At phone width Gradio folds the later tabs into an overflow menu: open the tab through its button.
        page.get_by_role("button", name="More tabs").click()
        page.locator("button:visible", has_text="Who said what").last.click()
        page.locator("#qa-quotes-table tr.qa-quote-row").first.wait_for(timeout=60_000)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 392
        page.screenshot(path=str(shots / "mobile-390-quotes.png"), full_page=True)
    finally:
        context.close()
