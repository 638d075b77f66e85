"""Chinese statements carried by layout: headlines (X：……), dash-led speech, a quotation paragraph continued."""

from __future__ import annotations

from qa.extraction import cues_zh as L
from qa.extraction.chinese import Raw, _clean_subject, _is_boundary, _is_cue, _Para
from qa.extraction.statement import OPENERS

def colon_statements(para: _Para, line_no: int) -> list[Raw]:
    """Headline attributions (X：……) and noun frames (她的发言…：“…”, 郎平的态度是：…)."""
    toks, text = para.toks, para.text
    out: list[Raw] = []
    for i, t in enumerate(toks):
        if t.text != "：" or para.inside(t.start) is not None:
            continue
        j = i - 1
        while j >= 0 and not _is_boundary(toks[j]):
            j -= 1
        region = toks[j + 1 : i]
        s = t.end
        if s >= para.pe:
            continue
        noun = next((k for k, x in enumerate(region) if x.text in L.COLON_NOUNS), None)
        short_line = "。" not in text[para.ps : para.pe] and para.pe - para.ps <= 60
        if noun is not None and noun > 0 and region[noun - 1].text == "的":
            mention, cue = region[: noun - 1], region[noun].text
        elif short_line and j < 0 and region:
            mention, status = _clean_subject(region)
            if status != "ok" or "".join(x.text for x in mention) != "".join(x.text for x in region):
                continue
            if any(x.text in ("关键词", "标题", "来源", "作者", "编辑", "记者", "图", "链接", "相关", "题", "注") for x in region):
                continue
            if all(x.tag in ("LOC", "ns") for x in mention):
                continue  # 巴西：… is a place heading, not a source
            cue = "："
        else:
            continue
        if not mention:
            continue
        if text[s] in OPENERS and (q := para.quote_at(s)):
            out.append(Raw(q[0] + 1, q[1], "direct", cue, t.start, mention, False, para.index))
        else:
            e = para.sentence_end(s)
            while e > s and text[e - 1] in "？！!?。 ":
                e -= 1
            if e - s >= 4:
                out.append(Raw(s, e, "mixed" if "“" in text[s:e] else "indirect", cue, t.start, mention, False, para.index))
    return out


def uncued_continuation(para: _Para, found: list[Raw], before: list[Raw]) -> list[Raw]:
    """A paragraph that is one quotation, right after the same speaker's direct quote, continues it."""
    if found or not before or not para.pairs:
        return []
    o, c = para.pairs[0]
    if o != para.ps or (c < para.pe - 1 and para.text[c + 1 : para.pe].strip("。 ")) or len(para.pairs) > 1:
        return []
    last = before[-1]
    if last.kind != "direct" or last.para != para.index - 1:
        return []
    return [Raw(o + 1, c, "direct", "", last.cue_pos, last.mention, False, para.index, last.zero, {"continues": True})]


DASHES = "—–-"


def dash_paragraph(para: _Para) -> list[Raw]:
    """Dash-led direct speech (translated news): —…… -托卡耶夫表示。 / ……，—托卡耶夫表示。"""
    text, toks = para.text, para.toks
    if text[para.ps] not in DASHES or not toks:
        return []
    end = len(toks)
    while end > 0 and toks[end - 1].text in ("。", "！", "？", ".", " "):
        end -= 1
    if end == 0 or not _is_cue(toks, end - 1):
        return []
    j = end - 2
    while j >= 0 and not (toks[j].text and all(ch in DASHES for ch in toks[j].text)) and not _is_boundary(toks[j]):
        j -= 1
    if j < 0 or not all(ch in DASHES for ch in toks[j].text):
        return []
    mention, status = _clean_subject(toks[j + 1 : end - 1])
    if status != "ok":
        return []
    s = para.ps
    while s < para.pe and text[s] in DASHES + " \t\u3000":
        s += 1
    e = toks[j].start
    while e > s and text[e - 1] in "，, \t\u3000" + DASHES:
        e -= 1
    if e - s < 2:
        return []
    return [Raw(s, e, "direct", toks[end - 1].text, toks[end - 1].start, mention, False, para.index)]


def implicit_quotes(para: _Para, found: list[Raw]) -> list[Raw]:
    """A quotation that opens a sentence with no cue of its own: the words of the paragraph's last speaker, else of
    the person its previous sentence is about (托莱多最大的愿望是…。“……”)."""
    from qa.extraction.chinese import PER_TAGS, _clause_level, _leading_np

    text, out = para.text, []
    for o, c in para.pairs:
        j = o - 1
        while j >= para.ps and text[j] in " \t\u3000":
            j -= 1
        if j >= para.ps and text[j] not in "。！？!?":
            continue  # not at a sentence start
        if any(r.start <= o + 1 < r.end or r.start <= c <= r.end for r in found + out):
            continue
        if c < para.pe and text[c + 1 : c + 2] and text[c + 1] not in "。！？（(" and not text[c + 1 :].startswith("”"):
            continue  # the sentence goes on after the quote: an attribution of its own or a term in the sentence
        if not _clause_level(para, o, c, after_colon=False):
            continue
        before = [r for r in found + out if r.start < o]
        if before:
            last = max(before, key=lambda r: r.start)
            out.append(Raw(o + 1, c, "direct", "", last.cue_pos, last.mention, False, para.index, last.zero))
            continue
        s0 = para.sentence_start(j) if j >= para.ps else para.ps
        toks = [t for t in para.toks if s0 <= t.start < j]
        np = _leading_np(toks)
        if np and any(t.tag in PER_TAGS for t in np):
            out.append(Raw(o + 1, c, "direct", "", np[0].start, np, False, para.index))
    return out
