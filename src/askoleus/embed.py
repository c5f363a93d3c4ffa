"""Embedding: a small protocol and the sentence-transformers implementation (offline)."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import ConfigError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .config import Settings


class Embedder(Protocol):
    """What the index and retriever need from an embedding model."""

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for text, including special tokens."""
        ...

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus, per passage, one vector per char span (its sentences)."""
        ...


# Part of every cache key: bump it when what is stored per text changes, so old vectors are not reused.
VECTORS_VERSION = "passage+standalone-sentences/2"


def text_hash(text: str) -> str:
    """Cache key part for a text to embed."""
    return hashlib.sha256(f"{VECTORS_VERSION}\n{text}".encode()).hexdigest()


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers model) loaded from a local path, on CPU."""

    def __init__(self, model_path: str, name: str, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()

        if threads:
            torch.set_num_threads(threads)
        try:
            self.model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ConfigError(f"cannot load embedding model {name!r} offline from {model_path}: {exc}") from exc
        self.name = name
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise ConfigError(f"model {name!r} does not report an embedding dimension")
        self.dim = int(dim)
        self.max_tokens = int(self.model.max_seq_length)
        self._tokenizer = self.model.tokenizer
        self._lock = threading.Lock()
        self._torch = torch
        self._traced: tuple[object, list[str]] | None = None  # see prepare_queries
        self.model.eval()  # model.encode sets this on every call; the direct path relies on it
        # One batch can skip model.encode's per-call bookkeeping (kwarg validation through
        # inspect.signature, eval() over every submodule, sorting): ~3 ms of a ~12 ms query.
        self._direct = (
            getattr(self.model, "default_prompt_name", None) is None
            and getattr(self.model, "truncate_dim", None) is None
            and self.model.device.type == "cpu"
        )

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch releases the GIL; one encode at a time keeps latency predictable
            if self._traced is not None and len(texts) == 1:
                vectors = self._encode_one_traced(texts[0])
            elif self._direct and len(texts) <= batch_size:
                vectors = self._encode_batch(texts)
            else:
                vectors = self.model.encode(
                    texts,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def prepare_queries(self) -> bool:
        """Trace the transformer for single, unpadded texts (questions) with TorchScript.

        The trace runs the same operations without the Python module overhead, ~30% faster per
        question on 2 cores. It is kept only if it reproduces the eager model bit for bit on probe
        questions of several lengths; otherwise (or if tracing fails) queries stay on the eager path.
        Called by the server at start-up; returns whether the trace is in use.
        """
        torch = self._torch
        modules = list(self.model.children())
        first = modules[0] if modules else None
        inner = getattr(first, "auto_model", None) or getattr(first, "model", None)
        config = getattr(first, "modality_config", {}).get("text", {})
        if (
            not self._direct
            or inner is None
            or type(first).__name__ != "Transformer"
            or getattr(first, "module_output_name", "") != "token_embeddings"
            or config.get("method") != "forward"
            or config.get("method_output_name") != "last_hidden_state"
        ):
            return False

        class LastHidden(torch.nn.Module):  # shares the model's parameters: no copy of the weights
            def __init__(self, model: torch.nn.Module) -> None:
                super().__init__()
                self.model = model

            def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
                return self.model(**dict(zip(names, tensors, strict=True)), return_dict=False)[0]

        probes = [
            "Why do my legs feel heavy when I run?",
            "iron",
            "What does UnboundLocalError mean, and why do lambdas (defined in a loop) all return the same result? " * 4,
        ]
        with self._lock:
            try:
                features = self.model.preprocess([probes[0]])
                names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in features]
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # TracerWarnings about shape checks: see the probes
                    traced = torch.jit.trace(
                        LastHidden(inner).eval(), tuple(features[k] for k in names), check_trace=False
                    )
                self._traced = (traced, names)
                same = all(np.array_equal(self._encode_one_traced(p), self._encode_batch([p])) for p in probes)
            except Exception as exc:
                log.info("query trace not used: %s", exc)
                same = False
            if not same:
                self._traced = None
        return self._traced is not None

    def _encode_one_traced(self, text: str) -> np.ndarray:
        """One text through the traced transformer, then the model's own pooling and normalisation."""
        torch = self._torch
        traced, names = self._traced  # type: ignore[misc]
        with torch.inference_mode():
            features = self.model.preprocess([text])
            features["token_embeddings"] = traced(*(features[k] for k in names))
            for module in list(self.model.children())[1:]:
                features = module(features)
            vectors = torch.nn.functional.normalize(features["sentence_embedding"], p=2, dim=1)
        return vectors.float().numpy()

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """What model.encode computes for a single batch: tokenize, forward, normalise."""
        torch = self._torch
        with torch.inference_mode():
            features = self.model.preprocess(texts)
            out = self.model(features)
            vectors = torch.nn.functional.normalize(out["sentence_embedding"], p=2, dim=1)
        return vectors.float().numpy()

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus standalone sentence vectors (each sentence encoded on its own).

        Answer extraction compares these with the question. Spans pooled inside the passage's
        forward pass were cheaper but carried their neighbours' meaning: measured on the golden
        set's tune split, standalone vectors put the asked-for fact first far more often (README).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        vectors = self.encode(texts, batch_size=batch_size)
        sentences = [texts[i][s:e] for i in range(len(texts)) for s, e in spans[i]]
        flat = self.encode(sentences, batch_size=batch_size) if sentences else np.zeros((0, self.dim), np.float32)
        bounds = np.cumsum([0, *(len(sp) for sp in spans)])
        return vectors, [flat[bounds[i] : bounds[i + 1]] for i in range(len(texts))]

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for text, [CLS] and [SEP] included."""
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def load_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The embedder named by the settings."""
    return SentenceTransformerEmbedder(settings.model_path(), settings.model, settings.torch_threads)
