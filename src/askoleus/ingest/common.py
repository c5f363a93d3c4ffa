"""Format-independent ingest logic: text helpers, block classification and section assembly.

Each format parser (text, markdown, html) turns a file into a flat list of Heading and Para
items with char spans; `build_article` turns that list into an Article the same way for all.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from askoleus.documents import Article, Block, Kind, Reference, Section, is_web_url
from askoleus.errors import IngestError
from .references import parse_reference

INTRO_ANCHOR = "introduction"
HEADING_MAX_WORDS = 15
HEADING_MAX_CHARS = 120

_DISCLAIMER_RE = re.compile(
    r"(?:This|These)\s+statements?\s+(?:has|have)\s+not\s+been\s+evaluated\s+by\s+the\s+"
    r"(?:U\.?\s?S\.?\s+)?(?:Food\s+(?:and|&)\s+Drug\s+Administration|FDA)",
    re.IGNORECASE,
)
# Where the disclaimer ends: its first sentence, then the standard "not intended to diagnose" one if it follows.
_DISCLAIMER_END_RE = re.compile(
    r"(?:\s*\((?:U\.?\s?S\.?\s+)?FDA\))?\s*[.!]?"
    r"(?:\s*(?:This|These)\s+products?\s+(?:is|are)\s+not\s+intended\s+to\s+diagnose,?\s+treat,?\s+cure,?\s+"
    r"or\s+prevent\s+any\s+diseases?\s*[.!]?)?",
    re.IGNORECASE,
)
_REFERENCES_HEADING_RE = re.compile(
    r"^(?:sources?|references?|bibliography|citations?|works\s+cited|studies\s+cited)\s*:?$",
    re.IGNORECASE,
)
# Signals that only mark a short paragraph as promo; long paragraphs are article prose.
_WEAK_PROMO_RE = re.compile(r"\bnewsletter\b|\bsubscrib(?:e|ed|er|ers|ing|tion)\b", re.IGNORECASE)
_STRONG_PROMO_RE = re.compile(
    r"\b\d{1,2}\s?%\s*off\b|\bsave\s+\d{1,2}\s?%|\b(?:discount|promo|coupon|voucher)\s+code\b"
    r"|\b(?:use|enter|with)\s+(?:the\s+)?code\b|\bfirst\s+order\b|\bfree\s+(?:shipping|delivery)\b"
    r"|\badd\s+to\s+(?:cart|basket|bag)\b",
    re.IGNORECASE,
)
_CTA_LINE_RE = re.compile(
    r"^(?:(?:shop|buy)\s+\S|(?:order|buy|shop)\s+now\b|add\s+to\s+(?:cart|basket|bag)\b|get\s+yours\b)",
    re.IGNORECASE,
)
_WEAK_PROMO_MAX_WORDS = 60
_STRONG_PROMO_MAX_WORDS = 80
_CTA_MAX_WORDS = 8
# A section holding a shop call-to-action is a promo box if its other text is this small.
_CTA_SECTION_MAX_WORDS = 80
_CTA_SECTION_MAX_BLOCKS = 4
_KIND_PRIORITY: tuple[Kind, ...] = ("body", "references", "promo", "disclaimer")
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})


@dataclass(frozen=True)
class Heading:
    """A heading found by a format parser; anchor is set when the source gives an explicit id."""

    text: str
    level: int
    start: int
    end: int
    anchor: str | None = None


@dataclass(frozen=True)
class Para:
    """A paragraph-sized text found by a format parser; number is a list item's own number."""

    text: str
    start: int
    end: int
    number: int | None = None


Item = Heading | Para


@dataclass
class Parsed:
    """What a format parser extracts from one file before classification."""

    items: list[Item]
    title: str | None = None
    slug: str | None = None
    url: str | None = None
    date: str | None = None
    tags: list[str] = field(default_factory=list)
    draft: bool = False


def normalise(text: str) -> str:
    """Collapse runs of whitespace (NBSP included) to single spaces and strip."""
    return " ".join(text.split())


def slugify(text: str) -> str:
    """Lowercase ascii slug with hyphens: 'What does "heavy legs" mean?' -> 'what-does-heavy-legs-mean'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = re.sub(r"['\u2019]", "", ascii_text.lower())
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


INDEX_STEMS = ("index", "_index")  # a folder's own page: `slug/index.html` is the article `slug`


def path_slug(source: str) -> str:
    """The article's path without suffix, each part slugified: 'Faq/Extending.html' -> 'faq/extending'.

    A folder's index page names the folder ('a-post/index.html' -> 'a-post'), as static-site
    exports (Hugo, Jekyll, most blog platforms) write one folder per article.
    """
    path = PurePosixPath(source)
    parts = [*path.parent.parts, path.stem] if path.parent.parts else [path.stem]
    if len(parts) > 1 and path.stem.lower() in INDEX_STEMS:
        parts = parts[:-1]
    return "/".join(s for s in (_path_part(p) for p in parts if p not in (".", "..")) if s)


def _path_part(name: str) -> str:
    """A file or folder name as an id part: like slugify, but '_' and '.' are kept.

    Different file names then stay different ids: 'genindex-_.html' is not 'genindex.html', and
    '__future__.html' is not 'future.html'.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"['\u2019]", "", ascii_name.lower())
    return re.sub(r"[^a-z0-9_.]+", "-", ascii_name).strip("-.")


def article_id(slug: str | None, source: str) -> str:
    """Stable article id: the front-matter slug, else the corpus-relative path (hash fallback if empty)."""
    sid = slugify(slug) if slug else path_slug(source)
    return sid or "article-" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:8]


def title_from_stem(source: str) -> str:
    """A readable title from a file name: 'heavy-legs.md' -> 'Heavy legs', 'a-post/index.html' -> 'A post'."""
    path = PurePosixPath(source)
    name = path.parent.name if path.stem.lower() in INDEX_STEMS and path.parent.name else path.stem
    words = re.sub(r"[-_]+", " ", name).strip()
    return words[:1].upper() + words[1:]


def is_true(value: object) -> bool:
    """A yes/no metadata value (front matter or <meta>): True, "true", "yes", "on" or 1."""
    if isinstance(value, bool):
        return value
    return isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE_WORDS


def line_starts(raw: str) -> list[int]:
    """Char offset of the start of every line (index 0 = line 1)."""
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", raw))
    return starts


def line_span(raw: str, starts: list[int], first: int, last: int) -> tuple[int, int]:
    """Char span covering 0-based lines first..last inclusive, trailing whitespace trimmed."""
    first = max(0, min(first, len(starts) - 1))
    last = max(first, min(last, len(starts) - 1))
    start = starts[first]
    end = starts[last + 1] if last + 1 < len(starts) else len(raw)
    while end > start and raw[end - 1].isspace():
        end -= 1
    while start < end and raw[start].isspace():
        start += 1
    return start, end


def is_references_heading(text: str) -> bool:
    """True for 'Sources', 'References', 'Bibliography' (optionally with a colon)."""
    return bool(_REFERENCES_HEADING_RE.match(normalise(text)))


def is_separator(text: str) -> bool:
    """True for lines without any letter or digit, such as '-', '***' or an NBSP."""
    return not any(ch.isalnum() for ch in text)


def is_cta_line(text: str) -> bool:
    """True for a short shop call-to-action line: 'Shop the Daily Shot', 'Add to cart'."""
    text = normalise(text)
    return bool(_CTA_LINE_RE.match(text)) and len(text.split()) <= _CTA_MAX_WORDS and not text.endswith(".")


def is_promo(text: str) -> bool:
    """True for newsletter promos, discount offers and shop calls-to-action."""
    text = normalise(text)
    words = len(text.split())
    if is_cta_line(text):
        return True
    if words <= _STRONG_PROMO_MAX_WORDS and _STRONG_PROMO_RE.search(text):
        return True
    return words <= _WEAK_PROMO_MAX_WORDS and bool(_WEAK_PROMO_RE.search(text))


def is_disclaimer(text: str) -> bool:
    """True if the text contains the FDA-style supplement disclaimer."""
    return bool(_DISCLAIMER_RE.search(text))


def split_disclaimer(para: Para, raw: str) -> tuple[Para | None, Para | None, Para | None]:
    """Split a paragraph into (text before the disclaimer, the disclaimer, text after it); each may be None."""
    m = _DISCLAIMER_RE.search(para.text)
    if not m:
        return para, None, None
    stop = _end_of_disclaimer(para.text, m.end(), len(para.text))
    before_text = normalise(para.text[: m.start()])
    disc_text = normalise(para.text[m.start() : stop])
    after_text = normalise(para.text[stop:])
    # Split the span too when the phrase is literally in the source (always for txt).
    rm = _DISCLAIMER_RE.search(raw, para.start, para.end)
    if rm:
        disc_start, disc_end = rm.start(), _end_of_disclaimer(raw, rm.end(), para.end)
    else:
        disc_start, disc_end = para.start, para.end
    before_end = disc_start if rm else para.end
    while rm and before_end > para.start and raw[before_end - 1].isspace():
        before_end -= 1
    after_start = disc_end if rm else para.start
    while rm and after_start < para.end and raw[after_start].isspace():
        after_start += 1
    before = Para(before_text, para.start, before_end, para.number) if not is_separator(before_text) else None
    after = Para(after_text, after_start, para.end) if not is_separator(after_text) else None
    return before, Para(disc_text, disc_start, disc_end), after


def _end_of_disclaimer(text: str, pos: int, end: int) -> int:
    """Where the disclaimer that matched up to pos ends (text after it is the article's again)."""
    m = _DISCLAIMER_END_RE.match(text, pos, end)
    return m.end() if m else pos


def _promo_heading(text: str) -> str:
    """Heading for a lifted promo section: the promo's first line, or its first sentence if long."""
    if len(text.split()) <= HEADING_MAX_WORDS:
        return text
    first = re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]
    return " ".join(first.split()[:HEADING_MAX_WORDS])


@dataclass
class _OpenSection:
    """A section while it is assembled: heading, level, explicit anchor, its paragraphs and blocks."""

    heading: str
    level: int
    anchor: str | None
    paras: list[Para] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


def _group(title: str, items: list[Item]) -> list[_OpenSection]:
    """Split the flat item list into sections; text before the first heading is the intro."""
    sections = [_OpenSection(title, 0, None)]
    for item in items:
        if isinstance(item, Heading):
            sections.append(_OpenSection(item.text, item.level, item.anchor))
        else:
            sections[-1].paras.append(item)
    return sections


def _classify(section: _OpenSection, raw: str, references: list[Reference], disclaimers: list[str]) -> None:
    """Turn a section's paragraphs into typed blocks, collecting references and disclaimers.

    The disclaimer closes a Sources list: text after it is classified as prose again, never dropped.
    """
    refs_heading = section.level > 0 and is_references_heading(section.heading)
    in_refs = refs_heading
    for para in section.paras:
        rest: Para | None = para
        while rest is not None and not is_separator(rest.text):
            before, disc, rest = split_disclaimer(rest, raw)
            if before is not None:
                section.blocks.append(_block(before, in_refs, references))
            if disc is not None:
                disclaimers.append(disc.text)
                section.blocks.append(Block("disclaimer", disc.text, disc.start, disc.end))
                in_refs = False
    _mark_cta_box(section, refs_heading)


def _block(para: Para, in_refs: bool, references: list[Reference]) -> Block:
    """A paragraph as a body, promo or references block (a reference is also added to references)."""
    kind: Kind = "body"
    n = para.number if para.number is not None else len(references) + 1
    ref = parse_reference(n, para.text) if in_refs else None
    # A dated entry is a reference even if its title says "newsletter".
    if is_promo(para.text) and not (ref and ref.year):
        kind = "promo"
    elif ref is not None:
        kind = "references"
        references.append(ref)
    return Block(kind, para.text, para.start, para.end)


def _mark_cta_box(section: _OpenSection, in_refs: bool) -> None:
    """A short section that contains a shop call-to-action is a promo box as a whole."""
    if in_refs or section.level == 0 or not any(is_cta_line(b.text) for b in section.blocks):
        return
    others = [b for b in section.blocks if b.kind == "body"]
    words = sum(len(b.text.split()) for b in others)
    if len(others) <= _CTA_SECTION_MAX_BLOCKS and words <= _CTA_SECTION_MAX_WORDS:
        section.blocks = [replace(b, kind="promo") if b.kind == "body" else b for b in section.blocks]


def _lift(section: _OpenSection) -> list[_OpenSection]:
    """Move runs of promo or disclaimer blocks out of a section with weightier text into their own.

    The lifted sections follow the section they came from, so a body section keeps only body
    text and the promo box or disclaimer can be told apart (and skipped) by its section kind.
    """
    present = {b.kind for b in section.blocks}
    main = next((k for k in _KIND_PRIORITY if k in present), None)
    liftable = {k for k in ("promo", "disclaimer") if k in present and k != main}
    if not liftable:
        return [section]
    kept: list[Block] = []
    lifted: list[_OpenSection] = []
    run: list[Block] = []
    level = max(section.level, 2)
    for block in [*section.blocks, Block("body", "", 0, 0)]:  # sentinel closes the last run
        if run and block.kind != run[0].kind:
            heading = "Disclaimer" if run[0].kind == "disclaimer" else _promo_heading(run[0].text)
            lifted.append(_OpenSection(heading, level, None, blocks=run))
            run = []
        if block.kind in liftable:
            run.append(block)
        elif block.text:
            kept.append(block)
    section.blocks = kept
    return [section, *lifted]


def _assign_anchors(sections: list[_OpenSection]) -> list[str]:
    """Anchors in document order: explicit ids kept, slugs de-duplicated with -2, -3 …"""
    used = {d.anchor for d in sections if d.anchor}
    anchors: list[str] = []
    for d in sections:
        if d.anchor:
            anchors.append(d.anchor)
            continue
        base = INTRO_ANCHOR if d.level == 0 else (slugify(d.heading) or "section")
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        anchors.append(anchor)
    return anchors


def build_article(parsed: Parsed, raw: str, *, source: str, fmt: str, site_url: str, sha256: str) -> Article:
    """Classify parsed items into sections, references and the disclaimer, and build the Article."""
    title = normalise(parsed.title or "") or title_from_stem(source)
    references: list[Reference] = []
    disclaimers: list[str] = []
    open_sections = _group(title, parsed.items)
    for sec in open_sections:
        _classify(sec, raw, references, disclaimers)
    open_sections = [lifted for sec in open_sections for lifted in _lift(sec)]
    anchors = _assign_anchors(open_sections)
    sections = [
        Section(heading=sec.heading, anchor=a, level=sec.level, blocks=sec.blocks)
        for sec, a in zip(open_sections, anchors, strict=True)
        if sec.blocks
    ]
    if not sections:
        raise IngestError(source, "no text content")
    aid = article_id(parsed.slug, source)
    if parsed.url is not None and not is_web_url(parsed.url):
        raise IngestError(source, f"url must be an absolute http(s) address, not {parsed.url[:60]!r}")
    return Article(
        id=aid,
        title=title,
        url=parsed.url or f"{site_url.rstrip('/')}/{aid}",
        source=source,
        sha256=sha256,
        format=fmt,
        sections=sections,
        references=references,
        disclaimer=disclaimers[0] if disclaimers else None,
        date=parsed.date,
        tags=parsed.tags,
        draft=parsed.draft,
    )
