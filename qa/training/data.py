"""Training examples for the reader: windows of SQuAD-style items with answer token positions and negatives.

Sources are `../shared/data/mrc_train/*.jsonl` (`{"id", "question", "context", "answers": [{"text", "start"}]}`).
Each question gives one positive window (`<s> query: q </s></s> window </s>`, the answer somewhere inside,
placed at random) and, with probability `negative_rate` each, two kinds of negatives labelled with the null
answer (position 0) and answerable = 0: a window of the same passage that does not contain the answer, and
the best-matching window of the passage that BM25 (bm25s over jieba words) retrieves for the question among
the other passages, when none of the answers occurs in it. The English XQuAD questions over Chinese passages
are split by passage: a contiguous block of passages (XQuAD keeps an article's paragraphs together) is held
out for the English-question figure, and is removed from the Chinese XQuAD items too (same passages, same
answers).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.answering.reader import OffsetTokenizer, layout

SOURCES = ("cmrc2018_train", "cmrc2018_trial", "drcd_test_disjoint", "xquad_zh", "xquad_enq_zhctx")
HELD_OUT_SOURCE = "xquad_enq_zhctx"


@dataclass
class Item:
    id: str
    question: str
    context: str
    answers: list[tuple[str, int]]
    source: str


@dataclass
class Example:
    """One training row: token ids, the answer's token positions (0, 0 = no answer) and answerability."""

    ids: list[int]
    first: int  # index of the first passage token
    start: int
    end: int
    answerable: int


def load_items(data_dir: Path, sources: Iterable[str] = SOURCES) -> list[Item]:
    items: list[Item] = []
    for source in sources:
        with (Path(data_dir) / f"{source}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                answers = [(a["text"], int(a["start"])) for a in row["answers"] if a["text"].strip()]
                if answers:
                    items.append(Item(row["id"], row["question"], row["context"], answers, source))
    return items


def held_out_contexts(items: Sequence[Item], fraction: float) -> set[str]:
    """The last `fraction` of the English-question passages, in file order (whole articles, roughly)."""
    contexts: list[str] = []
    for item in items:
        if item.source == HELD_OUT_SOURCE and item.context not in contexts:
            contexts.append(item.context)
    n = int(round(len(contexts) * fraction))
    return set(contexts[len(contexts) - n :]) if n else set()


def split(items: Sequence[Item], fraction: float) -> tuple[list[Item], list[Item]]:
    """(training items, held-out English-question items)."""
    held = held_out_contexts(items, fraction)
    train = [i for i in items if i.context not in held or not i.source.startswith("xquad")]
    test = [i for i in items if i.context in held and i.source == HELD_OUT_SOURCE]
    return train, test


def _bm25_neighbours(questions: Sequence[str], contexts: Sequence[str], k: int) -> list[list[int]]:
    import bm25s
    import jieba

    jieba.setLogLevel(60)

    def words(text: str) -> list[str]:
        return [w for w in jieba.lcut(text.lower()) if w.strip()]

    vocab: dict[str, int] = {}

    def ids(text: str) -> list[int]:
        return [vocab.setdefault(w, len(vocab)) for w in words(text)]

    corpus = [ids(c) for c in contexts]
    queries = [[vocab[w] for w in words(q) if w in vocab] or [0] for q in questions]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    docs, _ = retriever.retrieve(queries, k=min(k, len(contexts)), show_progress=False)
    return [list(map(int, row)) for row in docs]


def build_examples(items: Sequence[Item], tokenizer: OffsetTokenizer, *, max_tokens: int, question_tokens: int,
                   negative_rate: float, seed: int, log: object = print) -> list[Example]:
    rng = random.Random(seed)
    contexts = sorted({i.context for i in items})
    index = {c: n for n, c in enumerate(contexts)}
    encoded = [tokenizer.encode(c) for c in contexts]
    neighbours = _bm25_neighbours([i.question for i in items], contexts, 6) if negative_rate > 0 else []
    out: list[Example] = []
    skipped = 0
    for n, item in enumerate(items):
        q_ids = tokenizer.question_ids(item.question, question_tokens)
        room = max_tokens - len(q_ids) - 4
        ids, starts, ends = encoded[index[item.context]]
        text, a_start = item.answers[0]
        a_end = a_start + len(text)
        s_tok = next((t for t, (s, e) in enumerate(zip(starts, ends)) if e > a_start and e > s), None)
        e_tok = next((t for t in range(len(ids) - 1, -1, -1) if starts[t] < a_end and ends[t] > starts[t]), None)
        if s_tok is None or e_tok is None or e_tok < s_tok or e_tok - s_tok >= room:
            skipped += 1
            continue
        lo, hi = max(0, e_tok - room + 1), min(s_tok, max(len(ids) - room, 0))
        w = rng.randint(lo, hi) if hi >= lo else 0
        row, first = layout(q_ids, ids[w : w + room], tokenizer.bos, tokenizer.eos)
        out.append(Example(row, first, first + s_tok - w, first + e_tok - w, 1))
        answers = [a for a, _ in item.answers]
        # same passage, a window without the answer
        if len(ids) > room and rng.random() < negative_rate:
            options = [a for a in range(0, len(ids) - room + 1, 16)
                       if not any(x in item.context[starts[a] : ends[min(a + room, len(ids)) - 1]] for x in answers)]
            if options:
                a = rng.choice(options)
                out.append(Example(*layout(q_ids, ids[a : a + room], tokenizer.bos, tokenizer.eos), 0, 0, 0))
        # another passage retrieved for the question, without any of its answers
        if neighbours and rng.random() < negative_rate:
            for other in neighbours[n]:
                if contexts[other] == item.context or any(x in contexts[other] for x in answers):
                    continue
                o_ids, o_starts, o_ends = encoded[other]
                qchars = set(item.question)
                best, best_score = 0, -1
                for a in range(0, max(len(o_ids) - room, 0) + 1, 16):
                    chunk = contexts[other][o_starts[a] : o_ends[min(a + room, len(o_ids)) - 1]]
                    score = len(qchars & set(chunk))
                    if score > best_score:
                        best, best_score = a, score
                out.append(Example(*layout(q_ids, o_ids[best : best + room], tokenizer.bos, tokenizer.eos), 0, 0, 0))
                break
    if callable(log):
        positives = sum(e.answerable for e in out)
        log(f"examples: {len(out)} ({positives} answerable, {len(out) - positives} negatives); "
            f"{skipped} items skipped (answer not alignable or longer than a window)")
    rng.shuffle(out)
    return out
