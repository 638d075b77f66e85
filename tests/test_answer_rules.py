"""The extractive composer's pure rules (qa/answer.py): answer types and context sentences."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from qa.answering.composer import (
    NEIGHBOUR_MARGIN,
    completes_question,
    completing_neighbours,
    context_sentences,
    missing_entities,
    refers_back,
)
from qa.retrieval.sentences import SentenceCandidate as _Candidate
from qa.text.quantities import expected_answer_type, has_answer_type
from qa.text.tokens import question_characters
from qa.retrieval.keywords import KeywordIndex


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("哈巴商业论坛所签协议的总金额大约是多少？", "number"),
        ("雙邊工作組負責制定的計劃為期幾年？", "number"),  # traditional 幾
        ("哈萨克斯坦力争在哪一年之前让农业生产总值再翻一番？", "date"),
        ("How many supercomputers did Kazakhstan launch?", "number"),
        ("In what year was the canal opened?", "date"),
        ("盤古大陸在何時開始分裂？", None),  # 何时 is answered by periods as often as by dates
        ("哈乌国际产业合作中心设在什么地方？", None),
        ("这几乎是所有人的看法吗？", None),  # 几乎 is not 几
    ],
)
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_answer_type(question) == kind


def test_answer_types_on_sentences() -> None:
    assert has_answer_type("此次论坛签署了超30项商业文件。", "number")
    assert has_answer_type("两国高校分校落成。", "number")  # 两 + measure word
    assert not has_answer_type("双方一致同意扩大合作。", "number")  # 一致 is not a number
    assert has_answer_type("去年两国贸易额几乎翻了一番。", "date")
    assert not has_answer_type("双方一致同意扩大合作。", "date")
    assert has_answer_type("anything", None)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("牠們在建造水壩的時候大幅改變了生態系統，因為喜歡大便為鮭魚幼體提供了重要的生境。", True),
        ("1968年，由於商業的壓力導致這項制度的廢棄，網球進入了開放年代。", False),  # 这项 after the first clause
        ("這項制度在1968年廢棄。", True),
        ("此一貴族制在日本投降後的1947年取消。", True),
        ("它的訓練地點在漢諾瓦的馬斯湖。", True),
        ("他说：“哈萨克斯坦位于欧亚大陆中心。”", False),  # person pronouns open quotations
        ("此外，盤古大陸開始分裂。", False),  # 此外 is a connective, not a reference
        ("河狸亦在當地扮演著「生態系的工程師」的角色。", False),
        ("雙方簽署《南北關係發展與和平繁榮宣言》。", True),  # 双方: the two parties named before
        ("同年11月9日，柏林圍牆倒塌。", True),  # the year is in the sentence before
        ("取而代的是由新北市政府交通局提案、捷安特公司負責建置和營運的微笑單車系統。", True),
        ("雙邊貿易額提升至10億美元。", False),  # 双边 is not 双方
        ("同時，兩國簽署了多項協議。", False),  # 同时 is a connective
    ],
)
def test_refers_back(sentence: str, expected: bool) -> None:
    assert refers_back(sentence) is expected


def _cand(start: int, text: str, article: str = "a") -> _Candidate:
    return _Candidate(article, start, start + len(text), text, 0.9, Document(page_content=text, metadata={"rank": 1}),
                      frozenset())


def test_context_sentences_adds_the_named_antecedent_and_the_reason() -> None:
    prev = _cand(0, "河狸是北美洲最大的囓齒動物。")
    best = _cand(14, "牠們在建造水壩的時候大幅改變了生態系統。")
    nxt = _cand(34, "這是為了防止天敵接近。")
    other = _cand(14, "牠們也會游泳。", article="b")
    cands = [best, nxt, other, prev]
    assert context_sentences("何種動物在建造水壩時會大幅改變生態系統？", best, cands) == [prev]
    assert context_sentences("為何河狸要建造水壩？", best, cands) == [prev, nxt]
    # a sentence naming its subject needs nothing; the first sentence has no predecessor
    assert context_sentences("為何河狸要建造水壩？", prev, cands) == []
    assert context_sentences("何種動物建造水壩？", best, [best]) == []


def test_missing_entities_accepts_names_written_out_in_the_retrieved_passages() -> None:
    passages = [
        "汐止區則為近年崛起的新興工商區域，包括宏碁、緯創、增你強、浩漢、宇瞻與台灣。",
        "伊納拉漢及烏美德為人口密度最低的行政區，僅47人每平方公里。",
        "坂里村界於坂山、里山之間，屬於北竿鄉難得的平原地形。",
    ]
    keyword = KeywordIndex(["a", "b", "c"], passages)
    # the keyword index segments these names differently (and jieba glues 和 to 浩漢), so without
    # the passages they look absent and an answerable question would be refused
    assert missing_entities("關島的哪一地區的人口密度是伊納拉漢及烏美德為的約30倍？", keyword) == ["伊纳拉汉"]
    assert missing_entities("關島的哪一地區的人口密度是伊納拉漢及烏美德為的約30倍？", keyword, passages) == []
    assert missing_entities("坂里村的地理地形是屬於哪一種？", keyword, passages) == []
    assert "和浩汉" not in missing_entities("宏碁和浩漢的公司都位於新北市的哪一地方？", keyword, passages)
    # a name the articles never mention is still missing
    assert missing_entities("巴布亚新几内亚的首都在哪里？", keyword, passages) == ["巴布亚新几内亚"]


def _sentence(n: int, text: str, score: float, article: str = "a") -> _Candidate:
    c = _cand(100 * n, text, article)
    c.n, c.score = n, score
    return c


def test_a_neighbour_holding_the_rest_of_the_question_is_shown() -> None:
    question = "史特拉斯堡經濟得到迅速發展是於哪場戰爭之後?"
    prev = _sentence(4, "史特拉斯堡在19世紀末德意志帝國統治時期，現代工業開始得到發展，如:機械、電器、醫藥、食品。", 1.01)
    best = _sentence(5, "在兩次世界大戰之間，史特拉斯堡的經濟發展受到影響。", 1.08)
    nxt = _sentence(6, "直到第二次世界大戰後，該市經濟才得到迅速發展，成為法國東部新興工業中心。", 1.0)
    elsewhere = _sentence(6, "戰後該市經濟得到迅速發展。", 1.05, article="b")  # another article's sentence 6
    far = _sentence(8, "史特拉斯堡經濟在戰後得到迅速發展。", 1.05)  # not adjacent
    units = question_characters(question)
    # 得, 迅, 速, 后 (4 of the question's 17 characters) are in the next sentence only
    assert completes_question(units, best, nxt)
    assert not completes_question(units, best, prev)  # adds only 得
    assert completing_neighbours(question, best, [prev, best, nxt, elsewhere, far]) == [nxt]
    # a neighbour scoring far below the best one is not evidence enough
    nxt.score = best.score - NEIGHBOUR_MARGIN - 0.01
    assert completing_neighbours(question, best, [prev, best, nxt]) == []
    # one character of ten (连 of 连任) is too little to show a whole further sentence
    best = _sentence(5, "2010年臺北縣改制為直轄市更名新北市，第一任市長由國民黨籍的朱立倫當選，副市長則為李四川、侯友宜、許志堅。", 1.04)
    nxt = _sentence(6, "2014年朱立倫連任為第二任市長，副市長為侯友宜、陳伸賢、高宗正。", 0.98)
    assert not completes_question(question_characters("新北市第一任市長在何時成功連任？"), best, nxt)


def test_a_comparison_question_gets_the_other_side_of_the_comparison() -> None:
    best = _sentence(1, "韓國的城市中，首爾的年平均降雨量為1370毫米；", 1.11)
    nxt = _sentence(2, "釜山1470毫米。", 0.89)  # far below the best score: only the comparison shows it
    further = _sentence(3, "韓國大部分地區為中溫帶，植被以韓松，闊葉落葉植物為主。", 0.9)
    cands = [best, nxt, further]
    assert completing_neighbours("韓國哪一地區的年平均降雨量比首爾的多100毫米？", best, cands) == [nxt]
    # asked about the side the best sentence names, there is nothing to add
    assert completing_neighbours("首爾的年平均降雨量是多少？", best, cands) == []
    # 比賽 (match) and 比例 (proportion) do not compare anything
    assert completing_neighbours("一場網球比賽最多有幾盤比賽？", best, cands) == []
    assert completing_neighbours("市場上以哪一種米的比例最多？", best, cands) == []


def test_a_who_question_answered_by_a_pronoun_gets_the_sentence_naming_the_person() -> None:
    prev = _sentence(1, "然而，最具影響力的作品是在這個時期的末期所出現的，也就是馬基維利在1532年所著的君主論。", 1.01)
    best = _sentence(2, "他所著的君主論和李維羅馬史論精密分析了古典時期的政治，成為了現代政治哲學的主要來源。", 1.06)
    assert context_sentences("君主論為誰所寫的?", best, [prev, best]) == [prev]
    # any other question: the pronoun is no reason to show more (in news 他 mostly opens a quotation)
    assert context_sentences("君主論分析了什麼時期的政治?", best, [prev, best]) == []
