"""Direction words with their opposites (增加/减少, 上升/下降, 胜/负, 批准/否决) and negation markers."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Each axis: words for one direction, words for the other. A claim that moves a figure or an
# outcome one way while its evidence moves it the other way contradicts it.
_AXES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("增加", "增长", "增多", "增大", "增幅", "提高", "提升", "上升", "上涨", "上扬", "走高", "攀升", "回升", "反弹", "增", "涨",
      "升"),
     ("减少", "下降", "降低", "下滑", "下跌", "回落", "走低", "萎缩", "缩小", "降幅", "跌幅", "减", "跌", "降")),
    (("高开", "收红", "收涨", "收高"), ("低开", "收绿", "收跌", "收低")),
    (("扩大",), ("缩小", "收窄")),
    (("盈利", "顺差", "盈余"), ("亏损", "逆差", "赤字")),
    (("战胜", "击败", "获胜", "胜出", "赢得", "取胜", "夺冠", "胜", "赢"), ("负于", "输给", "不敌", "败给", "落败", "失利", "告负",
                                                                "负", "输", "败")),
    (("领先",), ("落后",)),
    (("批准", "通过", "同意", "接受", "支持", "赞成"), ("否决", "拒绝", "驳回", "反对", "否定")),
    (("加强", "强化"), ("削弱", "弱化")),
    (("放宽",), ("收紧",)),
    (("加息", "升息"), ("降息",)),
    (("买入", "增持", "净买入"), ("卖出", "减持", "净卖出")),
    (("出口",), ("进口",)),
    (("升值",), ("贬值",)),
    (("最高",), ("最低",)),
)
_POLE: dict[str, tuple[int, int]] = {}
for _i, (_up, _down) in enumerate(_AXES):
    for _w in _up:
        _POLE.setdefault(_w, (_i, +1))
    for _w in _down:
        _POLE.setdefault(_w, (_i, -1))
_WORD = re.compile("|".join(sorted(_POLE, key=len, reverse=True)))
# Single characters (涨, 跌, 胜, 负...) count only where they stand as a word: not inside 涨幅榜, 负责, 胜利.
_SINGLE_OK_AFTER = re.compile(r"^(?:[\d０-９.%]|了|至|到|幅|[超近逾约])")
_SINGLE_BAD = {"负": ("负责", "负担", "负面", "负债", "胜负", "抱负"), "胜": ("胜利", "名胜", "胜负", "优胜", "胜任"),
               "降": ("降落", "降水", "降雨", "降临", "投降", "降级"), "升": ("升级", "升起", "升空", "升旗", "提升", "上升"),
               "增": ("增值",), "减": ("减免", "减税", "削减", "缩减"), "输": ("运输", "输送", "输入", "输出", "传输"),
               "败": ("失败", "腐败", "败诉"), "通过": ("通过了解", "通过网络")}

NEGATIONS = ("不是", "并非", "并未", "从未", "尚未", "没有", "未能", "无法", "不会", "不再", "不能", "未曾", "未", "不", "没", "无", "非", "别")
"""Words that negate what follows ("未批准", "没有参加", "不是竞争对手")."""
_NEGATION = re.compile("|".join(NEGATIONS))


@dataclass(frozen=True)
class Direction:
    """A direction word: which axis it lies on and which way (+1 up/for/win, -1 down/against/lose)."""

    word: str
    axis: int
    pole: int
    start: int

    def opposes(self, other: Direction) -> bool:
        return self.axis == other.axis and self.pole != other.pole


def directions(text: str) -> list[Direction]:
    """The direction words of `text`, longest words first where they overlap."""
    out = []
    for m in _WORD.finditer(text):
        w = m.group(0)
        if any(text.startswith(bad, max(0, m.start() - len(bad) + 1)) or text.startswith(bad, m.start())
               for bad in _SINGLE_BAD.get(w, ())):
            continue
        if len(w) == 1 and not _SINGLE_OK_AFTER.match(text[m.end():]):
            continue
        axis, pole = _POLE[w]
        out.append(Direction(w, axis, pole, m.start()))
    return out


def opposite_words(word: str) -> tuple[str, ...]:
    """The words of the other direction on `word`'s axis ('增加' → ('减少', '下降', ...))."""
    if word not in _POLE:
        return ()
    axis, pole = _POLE[word]
    up, down = _AXES[axis]
    return down if pole > 0 else up


def negated(text: str, start: int) -> bool:
    """Whether the word at `start` is negated: a negation word right before it (at most one word between)."""
    before = text[max(0, start - 4):start]
    m = None
    for m in _NEGATION.finditer(before):
        pass
    return m is not None and len(before) - m.end() <= 1
