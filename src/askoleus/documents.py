"""Plain data passed between the pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

Kind = Literal["body", "promo", "references", "disclaimer"]
KINDS: tuple[Kind, ...] = ("body", "promo", "references", "disclaimer")


@dataclass(frozen=True)
class Block:
    """A paragraph-sized piece of an article with its kind and char span in the source file."""

    kind: Kind
    text: str
    start: int
    end: int


@dataclass
class Section:
    """A heading and the blocks under it; the intro before the first heading has level 0."""

    heading: str
    anchor: str
    level: int = 2
    blocks: list[Block] = field(default_factory=list)

    @property
    def kind(self) -> Kind:
        """The section's dominant kind: body if it has any body text."""
        kinds = [b.kind for b in self.blocks]
        if not kinds or "body" in kinds:
            return "body"
        return max(KINDS, key=kinds.count)


@dataclass(frozen=True)
class PageBlock:
    """A block as an article page shows it: its kind and text (no source span)."""

    kind: Kind
    text: str


@dataclass(frozen=True)
class PageSection:
    """A section as an index generation keeps it to render the article page."""

    heading: str
    anchor: str
    level: int
    blocks: tuple[PageBlock, ...] = ()

    @classmethod
    def of(cls, section: Section) -> PageSection:
        """The page view of a parsed section."""
        blocks = tuple(PageBlock(b.kind, b.text) for b in section.blocks)
        return cls(section.heading, section.anchor, section.level, blocks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self) | {"blocks": [asdict(b) for b in self.blocks]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PageSection:
        """Inverse of to_dict."""
        blocks = tuple(PageBlock(b["kind"], b["text"]) for b in d["blocks"])
        return cls(d["heading"], d["anchor"], int(d["level"]), blocks)


@dataclass(frozen=True)
class Reference:
    """One entry of an article's Sources list."""

    n: int
    text: str
    authors: str = ""
    year: str = ""
    title: str = ""
    journal: str = ""
    details: str = ""

    @property
    def first_author(self) -> str:
        """Surname of the first author ("Enoka" for "Enoka, R.M., Duchateau, J.")."""
        head = self.authors.split(",")[0].strip()
        return head.split()[-1] if head else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass
class Article:
    """A parsed article: metadata, sections, structured references and its own disclaimer."""

    id: str
    title: str
    url: str
    source: str
    sha256: str
    format: str
    sections: list[Section] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    disclaimer: str | None = None
    date: str | None = None
    tags: list[str] = field(default_factory=list)
    draft: bool = False

    def section_url(self, anchor: str) -> str:
        """Deep link to a section of this article."""
        return f"{self.url}#{anchor}" if anchor else self.url


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: what is indexed, cited and quoted."""

    id: str
    article_id: str
    title: str
    section: str
    anchor: str
    url: str
    kind: Kind
    source: str
    start: int
    end: int
    text: str
    ref_ids: tuple[int, ...] = ()

    @property
    def embed_text(self) -> str:
        """The text given to the embedding model: title and heading as context, then the passage."""
        if self.section and self.section != self.title:
            return f"{self.title}. {self.section}\n{self.text}"
        return f"{self.title}\n{self.text}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["ref_ids"] = list(self.ref_ids)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        """Inverse of to_dict."""
        return cls(**{**d, "ref_ids": tuple(d.get("ref_ids", ()))})


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL with a host: the only kind a citation may link to."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and not any(c in url for c in "\r\n\t")
