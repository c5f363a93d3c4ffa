"""BM25 over stemmed tokens (bm25s), persisted as JSON + .npy (no pickle)."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

PREFIX = 5
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lowercased, stop-word-free, Snowball-stemmed tokens."""
    return list(_tokens(text))


@lru_cache(maxsize=1024)  # an answer tokenizes the same few sentences several times
def _tokens(text: str) -> tuple[str, ...]:
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS]
    return tuple(_stemmer().stemWords(words))


class LexicalIndex:
    """A BM25 index over chunk texts, addressed by chunk position."""

    def __init__(self, bm25: bm25s.BM25, size: int) -> None:
        self.bm25 = bm25
        self.size = size
        self._prefixes: set[str] | None = None

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        """Index texts (position i = chunk i)."""
        bm25 = bm25s.BM25()
        corpus = [tokenize(t) or [""] for t in texts]
        if corpus:
            bm25.index(corpus, show_progress=False)
        return cls(bm25, len(texts))

    def knows(self, word: str) -> bool:
        """Whether a word occurs in any indexed text, as its stem or by its first PREFIX letters.

        The prefix lets "lighter" match "lightens" and "magnesum" match "magnesium", which the
        stemmer keeps apart.
        """
        vocab = getattr(self.bm25, "vocab_dict", None) or {}
        if any(t in vocab for t in tokenize(word)):
            return True
        if self._prefixes is None:
            self._prefixes = {t[:PREFIX] for t in vocab if len(t) >= PREFIX}
        return len(word) >= PREFIX and word.lower()[:PREFIX] in self._prefixes

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of a stemmed term (0.0 for a term no text uses)."""
        vocab = getattr(self.bm25, "vocab_dict", None) or {}
        i = vocab.get(term)
        if i is None or self.size == 0:
            return 0.0
        indptr = self.bm25.scores["indptr"]
        df = int(indptr[i + 1] - indptr[i])
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def search(self, query: str) -> tuple[np.ndarray, float]:
        """BM25 score of every chunk for query, and the best score a chunk could reach for it.

        The maximum is each known query term's highest contribution, summed: a score divided by it is
        comparable across queries (1.0 = every query term matched as well as any chunk matches it),
        unlike a score divided by the query's best hit, which makes a match on one common word look
        perfect. Zeros and 0.0 when no query term is known.
        """
        vocab = getattr(self.bm25, "vocab_dict", None) or {}
        terms = [t for t in tokenize(query) if t in vocab]
        if not terms or self.size == 0:
            return np.zeros(self.size, dtype=np.float32), 0.0
        scores = np.asarray(self.bm25.get_scores(terms), dtype=np.float32)
        data, indptr = self.bm25.scores["data"], self.bm25.scores["indptr"]
        best = float(sum(data[indptr[i] : indptr[i + 1]].max(initial=0.0) for i in (vocab[t] for t in terms)))
        return scores, best

    def save(self, directory: Path) -> list[Path]:
        """Write the index files; returns their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        if self.size:
            self.bm25.save(str(directory), allow_pickle=False)
        return sorted(p for p in directory.iterdir() if p.is_file())

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Read what save() wrote; the size comes from the files, so callers can cross-check it."""
        if not (directory / "params.index.json").exists():
            return cls(bm25s.BM25(), 0)
        bm25 = bm25s.BM25.load(str(directory), allow_pickle=False, mmap=False)
        return cls(bm25, int(bm25.scores.get("num_docs", -1)))
