"""The onnx backends: onnxruntime + tokenizers + numpy pooling, no torch at run time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from askoleus.errors import ConfigError

from .base import normalise, standalone_passages
from .export import INPUTS, OnnxFile

# Word pieces per forward pass (rows x longest row): onnxruntime's working memory grows with the
# batch's attention maps, so 32 passages of 256 word pieces took ~900 MB; at 2,048 long passages go
# 8 at a time (peak ~200 MB) while short sentences still fill the batch size (bench/RESULTS.md §14).
BATCH_TOKENS = 2048


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class OnnxEmbedder:
    """A mean-pooled, normalised sentence-transformers model run by onnxruntime on CPU.

    Computes what the torch backend computes: the transformer's token embeddings from the exported
    graph, their mean over the attention mask, L2 normalisation; tokenised with the model's own
    tokenizer.json at the model's max_seq_length.
    """

    def __init__(
        self,
        model_path: str,
        name: str,
        export: OnnxFile,
        int8: bool,
        threads: int | None = None,
        spinning: bool = True,
        spin_between_runs: bool = False,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        src = Path(model_path)
        pooling = _json(src / "1_Pooling" / "config.json")
        modules = [m.get("type", "") for m in json.loads((src / "modules.json").read_text(encoding="utf-8"))]
        if not pooling.get("pooling_mode_mean_tokens") or not any(t.endswith("Normalize") for t in modules):
            raise ConfigError(f"the onnx backends run mean-pooled, normalised models; use the torch backend for {name}")
        if any(pooling.get(k) for k in pooling if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"):
            raise ConfigError(f"the onnx backends run mean pooling only; use the torch backend for {name}")
        self.dim = int(pooling["word_embedding_dimension"])
        self.max_tokens = int(_json(src / "sentence_bert_config.json").get("max_seq_length", 256))
        self.backend = "onnx-int8" if int8 else "onnx"
        # int8 vectors differ from the model's (cosine ~0.99): their own vector space, named after
        # the exact quantised file. fp32 computes the model's vectors and shares its name.
        self.name = f"{name}+onnx-int8:{export.sha256[:12]}" if int8 else name
        self.info = {
            "backend": self.backend,
            "model": name,
            "onnx_sha256": export.sha256,
            "onnx_file": export.path.name,
        }

        self._tokenizer = Tokenizer.from_file(str(src / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_tokens)
        pad = self._tokenizer.token_to_id("[PAD]") or 0
        self._tokenizer.enable_padding(pad_id=pad, pad_token=self._tokenizer.id_to_token(pad) or "[PAD]")
        self._counter = Tokenizer.from_file(str(src / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = threads
        # Spinning keeps the worker threads busy-waiting between the graph's operators: fastest for one
        # question on idle cores, but it burns a core that concurrent requests, the event loop and
        # other processes need (ASKOLEUS_ONNX_SPINNING, bench/RESULTS.md) ...
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        # ... and by default they stop the moment a run returns: spinning on between runs burnt most
        # of a core while the rest of the request ran (13.5 vs 20 core-ms per request, bench/RESULTS.md §16)
        options.add_session_config_entry("session.force_spinning_stop", "0" if spin_between_runs else "1")
        try:
            self._session = ort.InferenceSession(str(export.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a bad file
            raise ConfigError(f"cannot load the ONNX export {export.path}: {exc}") from exc
        self._inputs = [i.name for i in self._session.get_inputs()]
        if not set(self._inputs) <= set(INPUTS):
            raise ConfigError(f"the ONNX export {export.path} has unexpected inputs {self._inputs}")

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Token embeddings [batch, tokens, dim], attention mask and the encodings of one padded batch."""
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        tokens = self._session.run(None, {k: feed[k] for k in self._inputs})[0]
        return np.asarray(tokens, dtype=np.float32), feed["attention_mask"], encodings

    @staticmethod
    def _mean(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = mask[..., None].astype(np.float32)
        mean: np.ndarray = (tokens * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return mean

    def _batches(self, texts: list[str], batch_size: int) -> list[list[int]]:
        """Indices longest first (little padding), batch_size rows and BATCH_TOKENS word pieces at most."""
        if len(texts) <= 1:  # a question: nothing to sort or split
            return [list(range(len(texts)))] if texts else []
        lengths = [min(len(e.ids), self.max_tokens) for e in self._counter.encode_batch(texts)]
        batches: list[list[int]] = []
        for i in sorted(range(len(texts)), key=lambda i: -lengths[i]):
            # longest first: the batch's first row sets its padded width
            if (
                batches
                and len(batches[-1]) < batch_size
                and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= BATCH_TOKENS
            ):
                batches[-1].append(i)
            else:
                batches.append([i])
        return batches

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in self._batches(texts, batch_size):
            tokens, mask, _ = self._forward([texts[i] for i in batch])
            out[batch] = normalise(self._mean(tokens, mask))
        return out

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus standalone sentence vectors (encoders.base.standalone_passages)."""
        return standalone_passages(lambda t, b: self.encode(t, batch_size=b), self.dim, texts, spans, batch_size)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for text, [CLS] and [SEP] included."""
        return len(self._counter.encode(text, add_special_tokens=True).ids)
