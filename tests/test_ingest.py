"""Ingest: corpus files (.txt, .md, .html) become Articles with typed blocks, or clear errors."""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path

import pytest

from askoleus import DISCLAIMER
from askoleus.chunk import chunk_article
from askoleus.documents import KINDS, Article, Block
from askoleus.errors import IngestError
from askoleus.ingest import (
    SUPPORTED_SUFFIXES,
    CorpusResult,
    Skipped,
    load_corpus,
    parse_file,
    parse_text,
)
from askoleus.ingest.common import article_id, slugify
from askoleus.ingest.references import cited_references

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SEED = CORPUS / "why-your-legs-feel-heavy-when-you-run.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "articles"
SITE_TREE = FIXTURES.parent / "site"
SITE = "https://oleus.example/blog"


def parse(raw: str, fmt: str, source: str | None = None) -> Article:
    """parse_text with the boilerplate arguments filled in."""
    return parse_text(raw, source=source or f"article.{fmt}", fmt=fmt, site_url=SITE, sha256="0" * 64)


def blocks(article: Article, kind: str | None = None) -> list[Block]:
    return [b for s in article.sections for b in s.blocks if kind is None or b.kind == kind]


def section(article: Article, anchor: str):
    return next(s for s in article.sections if s.anchor == anchor)


def norm(text: str) -> str:
    return " ".join(text.split())


# --- the seed article: the raw plain-text site export -------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Article:
    return parse_file(SEED, CORPUS, SITE)


@pytest.fixture(scope="module")
def seed_raw() -> str:
    return SEED.read_text(encoding="utf-8")


def test_seed_metadata(seed: Article) -> None:
    assert seed.title == "Why your legs feel heavy when you run"
    assert seed.id == "why-your-legs-feel-heavy-when-you-run"
    assert seed.url == f"{SITE}/why-your-legs-feel-heavy-when-you-run"
    assert seed.source == "why-your-legs-feel-heavy-when-you-run.txt"
    assert seed.format == "txt"
    assert seed.sha256 == hashlib.sha256(SEED.read_bytes()).hexdigest()
    assert seed.draft is False


def test_seed_sections_in_document_order(seed: Article) -> None:
    assert [(s.anchor, s.kind) for s in seed.sections] == [
        ("introduction", "body"),
        ("what-does-heavy-legs-actually-mean", "body"),
        ("why-would-your-engine-be-underpowered-even-when-you-feel-fine-otherwise", "body"),
        ("train-smarter-every-weekend-save-on-your-first-order", "promo"),
        ("is-it-your-training-or-is-it-your-cells", "body"),
        ("what-actually-lightens-heavy-legs-over-time", "body"),
        ("the-bottom-line", "body"),
        ("run-on-a-better-supplied-engine", "promo"),
        ("sources", "references"),
        ("disclaimer", "disclaimer"),
    ]
    assert section(seed, "what-does-heavy-legs-actually-mean").heading == 'What does "heavy legs" actually mean?'
    assert section(seed, "the-bottom-line").level == 2


def test_seed_intro_is_level_0_under_the_title_and_the_repeated_title_is_dropped(seed: Article) -> None:
    intro = seed.sections[0]
    assert (intro.heading, intro.level) == (seed.title, 0)
    assert intro.blocks[0].text.startswith("Some days your legs just feel heavy.")
    assert all(b.text != seed.title for b in blocks(seed))


def test_seed_iron_paragraph_is_body_in_the_engine_section(seed: Article) -> None:
    engine = section(seed, "why-would-your-engine-be-underpowered-even-when-you-feel-fine-otherwise")
    iron = [b for b in engine.blocks if b.text.startswith("Iron is the big one for runners.")]
    assert len(iron) == 1
    assert iron[0].kind == "body"
    assert all(b.kind == "body" for b in engine.blocks)  # the newsletter promo was lifted out


def test_seed_newsletter_paragraphs_are_their_own_promo_section(seed: Article) -> None:
    promo = section(seed, "train-smarter-every-weekend-save-on-your-first-order")
    assert promo.heading == "Train smarter every weekend. Save on your first order."
    assert [b.kind for b in promo.blocks] == ["promo"] * 3
    assert promo.blocks[1].text.startswith("The OLEUS newsletter covers")
    assert promo.blocks[2].text == "Subscribers get 10% off their first order with code BLOGLOVERS"


def test_seed_shop_call_to_action_box_is_promo(seed: Article) -> None:
    box = section(seed, "run-on-a-better-supplied-engine")
    assert [b.text for b in box.blocks][-1] == "Shop the Daily Shot"
    assert box.blocks[0].text.startswith("The Daily Shot supports the mitochondria")
    assert {b.kind for b in box.blocks} == {"promo"}


def test_seed_product_paragraph_in_the_article_body_is_not_promo(seed: Article) -> None:
    lightens = section(seed, "what-actually-lightens-heavy-legs-over-time")
    oleus = [b for b in lightens.blocks if b.text.startswith("That daily support is where OLEUS fits.")]
    assert len(oleus) == 1
    assert oleus[0].kind == "body"


def test_seed_sources_become_four_structured_references(seed: Article) -> None:
    assert [r.n for r in seed.references] == [1, 2, 3, 4]
    enoka, sim, nielsen, gherardi = seed.references
    assert (enoka.authors, enoka.year, enoka.title, enoka.journal, enoka.details) == (
        "Enoka, R.M., Duchateau, J.",
        "2016",
        "Translating fatigue to human performance",
        "Medicine and Science in Sports and Exercise",
        "48(11), 2228-2238",
    )
    assert (sim.first_author, sim.journal, sim.details) == (
        "Sim",
        "British Journal of Sports Medicine",
        "53(21), 1319-1327",
    )
    assert (nielsen.first_author, nielsen.journal) == ("Nielsen", "Magnesium Research")
    assert (gherardi.journal, gherardi.details) == ("Cell Metabolism", "")
    sources = section(seed, "sources")
    assert [b.kind for b in sources.blocks] == ["references"] * 4
    assert [b.text for b in sources.blocks] == [r.text for r in seed.references]


def test_seed_disclaimer_is_recognised_and_kept_out_of_body_and_references(seed: Article) -> None:
    assert seed.disclaimer == DISCLAIMER
    assert [b.text for b in blocks(seed, "disclaimer")] == [DISCLAIMER]
    for b in blocks(seed):
        if b.kind != "disclaimer":
            assert "Food and Drug Administration" not in b.text
    assert seed.references[-1].text.endswith("Cell Metabolism.")


def test_seed_separator_lines_are_dropped(seed: Article) -> None:
    assert all(any(ch.isalnum() for ch in b.text) for b in blocks(seed))
    assert "-" not in [b.text for b in blocks(seed)]


def test_seed_spans_point_at_the_exact_source_text(seed: Article, seed_raw: str) -> None:
    for b in blocks(seed):
        assert b.kind in KINDS
        assert 0 <= b.start < b.end <= len(seed_raw)
        assert norm(seed_raw[b.start : b.end]) == b.text


def test_seed_body_mentions_resolve_to_the_references_they_cite(seed: Article) -> None:
    def cites(anchor: str) -> tuple[int, ...]:
        text = " ".join(b.text for b in section(seed, anchor).blocks)
        return cited_references(text, seed.references)

    assert cites("what-does-heavy-legs-actually-mean") == (1,)
    assert cites("why-would-your-engine-be-underpowered-even-when-you-feel-fine-otherwise") == (2, 3)
    assert cites("what-actually-lightens-heavy-legs-over-time") == (4,)


# --- plain text rules ------------------------------------------------------------------------------


def test_text_headings_are_short_unpunctuated_lines_followed_by_text() -> None:
    raw = (
        "My title\n\nA first paragraph.\n\nThis short line ends with a period.\n\nA real heading\n\n"
        "Text under it.\n\nTrailing short line"
    )
    art = parse(raw, "txt")
    assert [s.heading for s in art.sections] == ["My title", "A real heading"]
    assert [b.text for b in art.sections[1].blocks] == ["Text under it.", "Trailing short line"]


def test_text_nbsp_only_lines_separate_paragraphs() -> None:
    art = parse("Title\n\nFirst paragraph.\n\u00a0\nSecond paragraph.\n", "txt")
    assert [b.text for b in blocks(art)] == ["First paragraph.", "Second paragraph."]


def test_text_hard_wrapped_paragraphs_are_joined() -> None:
    art = parse("Title\n\nOne sentence that is\nwrapped over two lines.\n", "txt")
    assert [b.text for b in blocks(art)] == ["One sentence that is wrapped over two lines."]


def test_text_disclaimer_inside_a_paragraph_is_split_out_exactly() -> None:
    raw = f"Title\n\nOur product supports recovery. {DISCLAIMER}\n"
    art = parse(raw, "txt")
    body, disclaimer = blocks(art)
    assert (body.kind, body.text) == ("body", "Our product supports recovery.")
    assert (disclaimer.kind, raw[disclaimer.start : disclaimer.end]) == ("disclaimer", DISCLAIMER)


def test_text_after_the_disclaimer_is_kept_as_article_text() -> None:
    """An update appended after the disclaimer of an export stays in the article, as body text, with its span."""
    path = FIXTURES.parent / "exports" / "running-in-the-heat.txt"
    raw = path.read_text(encoding="utf-8")
    art = parse_file(path, path.parent, SITE)
    update = "Update, June: on days above 30 degrees, move the long run to the early morning and carry water"
    note = "Editor's note: this article was reviewed by our coaching team"
    assert art.disclaimer == DISCLAIMER
    assert [raw[b.start : b.end] for b in blocks(art, "disclaimer")] == [DISCLAIMER]
    assert [r.first_author for r in art.references] == ["Périard"]
    after = [b for b in blocks(art) if b.text.startswith((update, note))]
    assert [b.kind for b in after] == ["body", "body"]
    assert all(norm(raw[b.start : b.end]) == b.text for b in after)
    indexed = " ".join(c.text for c in chunk_article(art) if c.kind == "body")
    assert update in indexed
    assert note in indexed


def test_text_sources_without_numbers_are_one_entry_per_line() -> None:
    raw = (
        "Title\n\nBody text.\n\nReferences:\n"
        "Sim, M., et al. (2019). Iron for athletes. BJSM, 53(21), 1319-1327.\n"
        "Enoka, R.M. (2016). Fatigue. MSSE, 48(11), 2228-2238.\n"
    )
    art = parse(raw, "txt")
    assert art.sections[-1].heading == "References"
    assert [(r.n, r.first_author) for r in art.references] == [(1, "Sim"), (2, "Enoka")]


def test_duplicate_headings_get_numbered_anchors() -> None:
    art = parse("Title\n\nTips\n\nOne.\n\nTips\n\nTwo.\n\nTips\n\nThree.\n", "txt")
    assert [s.anchor for s in art.sections] == ["tips", "tips-2", "tips-3"]


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ('What does "heavy legs" actually mean?', "what-does-heavy-legs-actually-mean"),
        ("Café crème & Müsli", "cafe-creme-musli"),
        ("What's the deal — really?", "whats-the-deal-really"),
        ("  --  ", ""),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


# --- Markdown ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def md() -> Article:
    return parse_file(FIXTURES / "magnesium-and-cramps.md", FIXTURES, SITE)


def test_markdown_front_matter_fields(md: Article) -> None:
    assert md.title == "Magnesium and muscle cramps: what the evidence says"
    assert (md.id, md.url) == ("magnesium-and-cramps", f"{SITE}/magnesium-and-cramps")
    assert (md.date, md.tags, md.draft, md.format) == ("2024-05-02", ["magnesium", "recovery"], False, "md")


def test_markdown_sections_promos_and_disclaimer(md: Article) -> None:
    assert [(s.anchor, s.kind) for s in md.sections] == [
        ("introduction", "body"),
        ("is-magnesium-deficiency-behind-your-cramps", "body"),
        ("get-the-oleus-newsletter", "promo"),
        ("how-much-magnesium-do-runners-need", "body"),
        ("train-smarter-every-weekend-save-on-your-first-order", "promo"),
        ("sources", "references"),
        ("disclaimer", "disclaimer"),
    ]
    assert md.disclaimer == DISCLAIMER


def test_markdown_inline_markup_is_removed_and_link_text_kept(md: Article) -> None:
    texts = [b.text for b in section(md, "is-magnesium-deficiency-behind-your-cramps").blocks]
    assert texts[0].startswith(
        "Sometimes. Magnesium is central to ATP metabolism and muscle relaxation, as Nielsen and Lukaski review"
    )
    assert "neuromuscular fatigue than" in texts[0]
    assert "**" not in texts[0]
    assert "](" not in texts[0]
    assert texts[1:] == [
        "Low intake is common in athletes who restrict energy.",
        "Heavy sweating adds losses on top.",
        "Cramping is a signal worth listening to, not a character flaw.",
    ]


def test_markdown_code_fences_are_body_text_not_headings(md: Article) -> None:
    need = section(md, "how-much-magnesium-do-runners-need")
    assert "# this is not a heading day 1: 310 mg" in [b.text for b in need.blocks]
    assert all(s.heading != "this is not a heading" for s in md.sections)


def test_markdown_sources_list_becomes_references(md: Article) -> None:
    assert [(r.n, r.first_author, r.year) for r in md.references] == [(1, "Nielsen", "2006"), (2, "Sim", "2019")]
    assert all("Food and Drug" not in r.text for r in md.references)


def test_markdown_spans_cover_the_source_lines(md: Article) -> None:
    raw = (FIXTURES / "magnesium-and-cramps.md").read_text(encoding="utf-8")
    for b in blocks(md):
        first_word = b.text.split()[0].strip("*#")
        assert first_word in raw[b.start : b.end]


def test_markdown_title_falls_back_to_the_first_h1_then_the_file_stem() -> None:
    art = parse("# Iron basics\n\nText.\n\n## More\n\nDetail.\n", "md")
    assert art.title == "Iron basics"
    assert [s.anchor for s in art.sections] == ["introduction", "more"]
    assert parse("Just text.\n", "md", source="notes/heavy-legs.md").title == "Heavy legs"


def test_markdown_url_slug_and_comma_tags_from_front_matter() -> None:
    raw = "---\ntitle: T\nslug: Über Run\nurl: https://x.example/t\ntags: iron, running\n---\nBody.\n"
    art = parse(raw, "md")
    assert (art.id, art.url, art.tags) == ("uber-run", "https://x.example/t", ["iron", "running"])


def test_markdown_draft_is_flagged() -> None:
    art = parse_file(FIXTURES / "drafts" / "oleuropein-protocol.md", FIXTURES, SITE)
    assert art.draft is True
    assert art.source == "drafts/oleuropein-protocol.md"


# --- HTML ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page() -> Article:
    return parse_file(FIXTURES / "iron-for-runners.html", FIXTURES, SITE)


def test_html_title_and_canonical_url(page: Article) -> None:
    assert page.title == "Iron for runners"
    assert page.url == "https://oleus.example/blog/iron-for-runners.html"
    assert (page.id, page.tags, page.format) == ("iron-for-runners", ["iron", "running"], "html")


def test_html_sphinx_section_ids_are_the_anchors_and_headerlinks_are_stripped(page: Article) -> None:
    assert [(s.heading, s.anchor, s.kind) for s in page.sections] == [
        ("Iron for runners", "introduction", "body"),
        ("How do I know if my iron is low?", "how-do-i-know-if-my-iron-is-low", "body"),
        ("Sources", "sources", "references"),
        ("Disclaimer", "disclaimer", "disclaimer"),
    ]


def test_html_chrome_scripts_and_hidden_text_are_dropped(page: Article) -> None:
    text = " ".join(b.text for b in blocks(page))
    for marker in ("SCRIPT", "NAV", "HIDDEN", "FOOTER", "SIDEBAR", "\u00b6", "color: red"):
        assert marker not in text


def test_html_blocks_decode_entities_and_do_not_double_count_nested_blocks(page: Article) -> None:
    assert blocks(page)[0].text.endswith("at real risk of running low & feeling it.")
    low = [b.text for b in section(page, "how-do-i-know-if-my-iron-is-low").blocks]
    assert low == [
        "Heavy, leaden legs are a classic early sign. Sim and colleagues recommend regular ferritin checks for athletes.",
        "Ask for a ferritin test, not just haemoglobin.",
        "Track how your legs feel on easy runs.",
    ]
    assert page.disclaimer == DISCLAIMER
    assert [r.first_author for r in page.references] == ["Sim"]


def test_html_spans_start_at_the_element_line(page: Article) -> None:
    raw = (FIXTURES / "iron-for-runners.html").read_text(encoding="utf-8")
    for b in blocks(page):
        assert b.text.split()[0] in raw[b.start : b.end]


def test_html_title_falls_back_to_title_tag_without_site_suffix() -> None:
    art = parse("<html><head><title>Heavy legs | OLEUS</title></head><body><p>Text.</p></body></html>", "html")
    assert art.title == "Heavy legs"
    art = parse("<html><head><title>Heavy legs - a guide</title></head><body><p>Text.</p></body></html>", "html")
    assert art.title == "Heavy legs - a guide"


def test_html_site_header_h1_is_not_the_article_title() -> None:
    raw = "<html><head><title>Pacing — OLEUS</title></head><body><header><h1>OLEUS</h1></header><p>Text.</p></body></html>"
    assert parse(raw, "html").title == "Pacing"


def test_html_heading_id_wins_and_headings_without_ids_are_slugged() -> None:
    raw = "<main><h1>T</h1><p>a</p><h2 id='own'>First</h2><p>b</p><h2>Second part</h2><p>c</p></main>"
    assert [s.anchor for s in parse(raw, "html").sections] == ["introduction", "own", "second-part"]


def test_html_draft_meta_is_flagged() -> None:
    assert parse('<head><meta name="draft" content="true"></head><p>Soon.</p>', "html").draft is True


def test_html_deep_nesting_is_walked_without_recursion() -> None:
    # deeper than Python's recursion limit (1000), within libxml2's 2048-level limit
    raw = "<html><body>" + "<div>" * 2000 + "<p>deep text</p>" + "</div>" * 2000 + "</body></html>"
    assert [b.text for b in blocks(parse(raw, "html"))] == ["deep text"]


def test_html_nesting_beyond_the_parser_limit_is_a_clear_error() -> None:
    raw = "<html><body>" + "<div>" * 5000 + "<p>deep text</p>" + "</div>" * 5000 + "</body></html>"
    with pytest.raises(IngestError, match="nested too deeply"):
        parse(raw, "html")


@pytest.mark.parametrize("raw", ["<html><body></body></html>", "<!-- only a comment -->", "<script>x()</script>"])
def test_html_without_text_is_an_error(raw: str) -> None:
    with pytest.raises(IngestError, match="no text content"):
        parse(raw, "html")


def test_html_unclosed_tags_are_tolerated() -> None:
    assert [b.text for b in blocks(parse("<p>unclosed <b>bold <i>text", "html"))] == ["unclosed bold text"]


@pytest.mark.parametrize("fmt", ["html", "md", "txt"])
def test_garbage_input_never_crashes(fmt: str) -> None:
    rng = random.Random(fmt)
    for _ in range(40):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000))).decode("latin-1")
        for raw in (junk, "<div>" + junk + "<p>" + junk):
            try:
                art = parse(raw, fmt)
            except IngestError as e:
                assert "\n" not in e.message
            else:
                assert all(b.kind in KINDS for b in blocks(art))


# --- malformed files -------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def parse_error(path: Path, root: Path, **kwargs: int) -> IngestError:
    with pytest.raises(IngestError) as info:
        parse_file(path, root, SITE, **kwargs)
    err = info.value
    assert "\n" not in err.message
    assert err.message.startswith(err.file)
    return err


def test_latin1_file_is_rejected_with_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "sub/cafe.txt", "Title\n\nCaf\u00e9 au lait.\n".encode("latin-1"))
    err = parse_error(path, tmp_path)
    assert (err.file, err.line) == ("sub/cafe.txt", 3)
    assert "not valid UTF-8" in err.reason
    assert "offset 10" in err.reason


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    err = parse_error(write(tmp_path, "image.md", b"\x89PNG\r\n\x1a\n\x00\x00"), tmp_path)
    assert "binary file" in err.reason
    assert err.line == 3


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_file_is_rejected(tmp_path: Path, data: bytes) -> None:
    assert parse_error(write(tmp_path, "empty.md", data), tmp_path).reason == "empty file"


def test_file_larger_than_the_limit_is_rejected(tmp_path: Path) -> None:
    err = parse_error(write(tmp_path, "big.txt", b"Title\n\n" + b"word " * 400), tmp_path, max_bytes=1000)
    assert "too large" in err.reason


def test_broken_front_matter_reports_the_line_in_the_file(tmp_path: Path) -> None:
    data = b"---\ntitle: Heavy legs\ntags: [iron, running\ndate: 2024-01-01\n---\nBody.\n"
    err = parse_error(write(tmp_path, "broken.md", data), tmp_path)
    assert err.line == 4
    assert "invalid YAML front matter" in err.reason
    assert err.message.startswith("broken.md:4: ")


def test_front_matter_must_be_a_mapping_and_must_be_closed(tmp_path: Path) -> None:
    err = parse_error(write(tmp_path, "list.md", b"---\n- a\n- b\n---\nBody.\n"), tmp_path)
    assert "mapping" in err.reason
    err = parse_error(write(tmp_path, "open.md", b"---\ntitle: x\nBody.\n"), tmp_path)
    assert (err.line, "not closed" in err.reason) == (1, True)


def test_a_file_without_text_after_parsing_is_rejected(tmp_path: Path) -> None:
    err = parse_error(write(tmp_path, "only-title.md", b"---\ntitle: x\n---\n# x\n"), tmp_path)
    assert err.reason == "no text content"


def test_utf8_bom_is_accepted_and_spans_stay_offsets_into_the_decoded_text(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.txt", "\ufeffTitle\n\nBody text.\n".encode("utf-8"))
    art = parse_file(path, tmp_path, SITE)
    raw = path.read_text(encoding="utf-8")
    assert art.title == "Title"
    assert [raw[b.start : b.end] for b in blocks(art)] == ["Body text."]


# --- the whole corpus -----------------------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(FIXTURES, root)
    shutil.copy(SEED, root / SEED.name)
    write(root, "README", b"not an article")
    write(root, "notes.rst", b"Not a supported format\n")
    write(root, ".hidden.md", b"# Hidden\n\nNever read.\n")
    write(root, ".git/HEAD.md", b"# Git\n\nNever read.\n")
    write(root, "zz/latin.txt", "Titre\n\nD\u00e9j\u00e0 vu.\n".encode("latin-1"))
    return root


def test_load_corpus_parses_articles_and_reports_drafts_and_skips(corpus: Path) -> None:
    result = load_corpus(corpus, SITE)
    assert isinstance(result, CorpusResult)
    assert [a.source for a in result.articles] == [
        "iron-for-runners.html",
        "magnesium-and-cramps.md",
        "why-your-legs-feel-heavy-when-you-run.txt",
    ]
    assert result.drafts == ["drafts/oleuropein-protocol.md"]
    assert len(result.skipped) == 1
    skipped = result.skipped[0]
    assert skipped.file == "zz/latin.txt"
    assert skipped.reason.startswith("line 3: not valid UTF-8")
    assert "\n" not in skipped.reason


def test_load_corpus_is_deterministic(corpus: Path) -> None:
    assert load_corpus(corpus, SITE) == load_corpus(corpus, SITE)


def test_load_corpus_strict_raises_the_first_malformed_file(corpus: Path) -> None:
    with pytest.raises(IngestError) as info:
        load_corpus(corpus, SITE, strict=True)
    assert info.value.file == "zz/latin.txt"


def test_load_corpus_skips_the_second_file_with_an_existing_id(corpus: Path) -> None:
    write(corpus, "iron-for-runners/index.md", b"# Iron for runners, old version\n\nOld text.\n")
    result = load_corpus(corpus, SITE)
    assert [a.source for a in result.articles if a.id == "iron-for-runners"] == ["iron-for-runners.html"]
    assert (
        Skipped(
            "iron-for-runners/index.md",
            "duplicate article id 'iron-for-runners' (already used by iron-for-runners.html)",
        )
        in result.skipped
    )


def test_a_front_matter_slug_that_claims_an_existing_id_is_skipped_with_a_reason(corpus: Path) -> None:
    write(corpus, "zz-archive/old.md", b"---\nslug: iron-for-runners\n---\n# Old\n\nOld text.\n")
    result = load_corpus(corpus, SITE)
    assert (
        Skipped("zz-archive/old.md", "duplicate article id 'iron-for-runners' (already used by iron-for-runners.html)")
        in result.skipped
    )


# --- ids from the path: a Hugo-like site export ---------------------------------------------------------------


def test_ids_and_urls_come_from_the_path_relative_to_the_corpus_root() -> None:
    result = load_corpus(SITE_TREE, SITE)
    assert result.skipped == []
    assert {a.source: a.id for a in result.articles} == {
        "a-post/index.html": "a-post",
        "distutils/extending.html": "distutils/extending",
        "faq/extending.html": "faq/extending",
        "other/index.md": "other",
    }
    faq = next(a for a in result.articles if a.id == "faq/extending")
    assert faq.url == f"{SITE}/faq/extending"
    assert faq.section_url("how-fast-can-i-increase-my-mileage") == (
        f"{SITE}/faq/extending#how-fast-can-i-increase-my-mileage"
    )


def test_path_ids_are_stable_across_loads_and_copies(tmp_path: Path) -> None:
    shutil.copytree(SITE_TREE, tmp_path / "site")
    first = [a.id for a in load_corpus(SITE_TREE, SITE).articles]
    assert [a.id for a in load_corpus(tmp_path / "site", SITE).articles] == first


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("heavy-legs.md", "heavy-legs"),
        ("a-post/index.html", "a-post"),
        ("blog/2024/Über Run/_index.md", "blog/2024/uber-run"),
        ("index.html", "index"),
        ("Faq/Extending.HTML", "faq/extending"),
        ("genindex-_.html", "genindex-_"),
        ("library/__future__.html", "library/__future__"),
    ],
)
def test_article_id_from_path(source: str, expected: str) -> None:
    assert article_id(None, source) == expected


def test_front_matter_slug_and_url_win_over_the_path() -> None:
    raw = "---\ntitle: T\nslug: Short Name\nurl: https://x.example/t\n---\nBody.\n"
    art = parse(raw, "md", "posts/long-folder-name/index.md")
    assert (art.id, art.url) == ("short-name", "https://x.example/t")


def test_an_index_page_without_a_title_is_named_after_its_folder() -> None:
    assert parse("Body text only.\n", "md", "heavy-legs/index.md").title == "Heavy legs"


def test_load_corpus_respects_max_bytes(corpus: Path) -> None:
    result = load_corpus(corpus, SITE, max_bytes=2000)
    assert "why-your-legs-feel-heavy-when-you-run.txt" in [s.file for s in result.skipped]


def test_load_corpus_of_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="does not exist"):
        load_corpus(tmp_path / "nope", SITE)


def test_supported_suffixes() -> None:
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".markdown", ".html", ".htm")


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("a.TXT", b"Title\n\nText.\n", "txt"),
        ("a.markdown", b"# Title\n\nText.\n", "md"),
        ("a.htm", b"<h1>Title</h1><p>Text.</p>", "html"),
    ],
)
def test_the_suffix_picks_the_format(tmp_path: Path, name: str, data: bytes, fmt: str) -> None:
    art = parse_file(write(tmp_path, name, data), tmp_path, SITE)
    assert (art.format, art.title, [b.text for b in blocks(art)]) == (fmt, "Title", ["Text."])


def test_an_unsupported_suffix_is_an_error(tmp_path: Path) -> None:
    assert "unsupported" in parse_error(write(tmp_path, "notes.rst", b"Title\n"), tmp_path).reason
