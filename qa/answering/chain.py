"""The answer chain as a LangChain runnable: question → retrieve → compose."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from qa.answering.answer import Answer
from qa.answering.composer import ExtractiveComposer
from qa.retrieval.retriever import HybridRetriever


def build_answer_chain(retriever: HybridRetriever, composer: ExtractiveComposer) -> Runnable[dict[str, Any], Answer]:
    """question → retrieve → compose, as a LangChain runnable.

    Input: ``{"question": str, "k"?: int, "article_ids"?: list, "since"?: date, "until"?: date}``.
    """

    def retrieve(inputs: dict[str, Any]) -> list[Document]:
        options = {key: inputs[key] for key in ("k", "article_ids", "since", "until") if inputs.get(key) is not None}
        return retriever.invoke(inputs["question"], **options)

    def compose(inputs: dict[str, Any]) -> Answer:
        return composer.compose(inputs["question"], inputs["docs"])

    return RunnablePassthrough.assign(docs=RunnableLambda(retrieve)) | RunnableLambda(compose)
