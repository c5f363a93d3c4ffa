"""Heading-aware, sentence-boundary chunking sized in cl100k_base tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .documents import Article, Block, Chunk, Kind, Section
from .ingest.references import cited_references
from .sentences import split_sentences
from .tokenizer import count_tokens

CHUNKER_VERSION = "1"
INDEXED_KINDS: tuple[Kind, ...] = ("body", "promo", "references")
TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ChunkerSettings:
    """How big chunks are and how much consecutive windows overlap."""

    max_tokens: int = 160
    min_tokens: int = 40
    overlap_sentences: int = 1

    def to_dict(self) -> dict[str, int | str]:
        """Recorded in the manifest so a rebuild knows when chunking changed."""
        return {
            "version": CHUNKER_VERSION,
            "tokenizer": "cl100k_base",
            "max_tokens": self.max_tokens,
            "min_tokens": self.min_tokens,
            "overlap_sentences": self.overlap_sentences,
        }


@dataclass
class _Unit:
    text: str
    start: int
    end: int
    tokens: int


def _hard_split(sentence: str, max_tokens: int, count: TokenCounter) -> list[str]:
    """Split one over-long sentence (tables, URLs, run-on text) on char boundaries, preferring spaces."""
    pieces: list[str] = []
    rest = sentence.strip()
    while rest:
        if count(rest) <= max_tokens:
            pieces.append(rest)
            break
        lo, hi = 1, len(rest)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if count(rest[:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2:
            cut = space
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    return [p for p in pieces if p]


def _windows(block: Block, settings: ChunkerSettings, count: TokenCounter) -> list[_Unit]:
    """A block as one unit if it fits, else sentence windows with overlap."""
    tokens = count(block.text)
    if tokens <= settings.max_tokens:
        return [_Unit(block.text, block.start, block.end, tokens)]
    sentences: list[str] = []
    for s in split_sentences(block.text):
        sentences.extend([s] if count(s) <= settings.max_tokens else _hard_split(s, settings.max_tokens, count))
    units: list[_Unit] = []
    i = 0
    while i < len(sentences):
        window: list[str] = []
        j = i
        while j < len(sentences) and count(" ".join([*window, sentences[j]])) <= settings.max_tokens:
            window.append(sentences[j])
            j += 1
        if not window:  # cannot happen after hard splitting, but never loop forever
            window, j = [sentences[i]], i + 1
        text = " ".join(window)
        units.append(_Unit(text, block.start, block.end, count(text)))
        if j >= len(sentences):
            break
        i = max(j - settings.overlap_sentences, i + 1)
    return units


def _merge_small(units: list[_Unit], settings: ChunkerSettings, count: TokenCounter) -> list[_Unit]:
    """Join units below min_tokens with a neighbour while the result still fits."""
    out: list[_Unit] = []
    for u in units:
        if out and (out[-1].tokens < settings.min_tokens or u.tokens < settings.min_tokens):
            joined = f"{out[-1].text}\n\n{u.text}"
            n = count(joined)
            if n <= settings.max_tokens:
                out[-1] = _Unit(joined, out[-1].start, u.end, n)
                continue
        out.append(u)
    return out


def _runs(section: Section) -> Iterable[tuple[Kind, list[Block]]]:
    """Consecutive blocks of the same indexed kind."""
    run: list[Block] = []
    for block in section.blocks:
        if block.kind not in INDEXED_KINDS or not block.text.strip():
            continue
        if run and run[-1].kind != block.kind:
            yield run[0].kind, run
            run = []
        run.append(block)
    if run:
        yield run[0].kind, run


def chunk_article(
    article: Article, settings: ChunkerSettings = ChunkerSettings(), count: TokenCounter = count_tokens
) -> list[Chunk]:
    """All chunks of an article, in reading order; the disclaimer and empty text are left out."""
    chunks: list[Chunk] = []
    for section in article.sections:
        for kind, blocks in _runs(section):
            units = [u for b in blocks for u in _windows(b, settings, count)]
            for u in _merge_small(units, settings, count):
                chunks.append(
                    Chunk(
                        id=f"{article.id}/{section.anchor or 'top'}/{len(chunks)}",
                        article_id=article.id,
                        title=article.title,
                        section=section.heading,
                        anchor=section.anchor,
                        url=article.section_url(section.anchor),
                        kind=kind,
                        source=article.source,
                        start=u.start,
                        end=u.end,
                        text=u.text,
                        ref_ids=cited_references(u.text, article.references) if kind == "body" else (),
                    )
                )
    return chunks


def fit_to_limit(chunks: list[Chunk], count: TokenCounter, limit: int) -> list[Chunk]:
    """Split any chunk whose embedding text exceeds the model's limit, so none is ever truncated."""
    out: list[Chunk] = []
    pending = list(reversed(chunks))
    while pending:
        c = pending.pop()
        if count(c.embed_text) <= limit:
            out.append(c)
            continue
        sentences = split_sentences(c.text)
        if len(sentences) < 2:
            words = c.text.split()
            if len(words) < 2:
                raise ValueError(f"chunk {c.id} cannot be split below the model limit")
            mid = len(words) // 2
            halves = [" ".join(words[:mid]), " ".join(words[mid:])]
        else:
            mid = len(sentences) // 2
            halves = [" ".join(sentences[:mid]), " ".join(sentences[mid:])]
        for i, text in reversed(list(enumerate(halves))):
            pending.append(Chunk(**{**c.to_dict(), "id": f"{c.id}.{i}", "text": text, "ref_ids": c.ref_ids}))
    return out
