"""Sources entries become structured references; body text is matched to the entries it cites."""

from __future__ import annotations

import pytest

from askoleus.documents import Reference
from askoleus.ingest.references import cited_references, parse_reference

ENOKA = (
    "Enoka, R.M., Duchateau, J. (2016). Translating fatigue to human performance. "
    "Medicine and Science in Sports and Exercise, 48(11), 2228-2238."
)
GHERARDI = (
    "Gherardi, G., et al. (2024). Mitochondrial calcium uptake declines during aging and is directly "
    "activated by oleuropein to boost energy metabolism and skeletal muscle performance. Cell Metabolism."
)


def test_a_journal_article_is_split_into_its_parts() -> None:
    ref = parse_reference(1, ENOKA)
    assert ref == Reference(
        n=1,
        text=ENOKA,
        authors="Enoka, R.M., Duchateau, J.",
        year="2016",
        title="Translating fatigue to human performance",
        journal="Medicine and Science in Sports and Exercise",
        details="48(11), 2228-2238",
    )
    assert ref.first_author == "Enoka"


def test_an_entry_without_volume_or_pages_has_empty_details() -> None:
    ref = parse_reference(4, GHERARDI)
    assert ref.authors == "Gherardi, G., et al."
    assert ref.year == "2024"
    assert ref.title.startswith("Mitochondrial calcium uptake")
    assert ref.title.endswith("muscle performance")
    assert ref.journal == "Cell Metabolism"
    assert ref.details == ""


def test_a_question_mark_stays_in_the_title_and_initials_do_not_end_it() -> None:
    ref = parse_reference(2, "Smith, J. (2020). Does iron matter? Journal of U.S. Sport, 3, 1-2.")
    assert (ref.title, ref.journal, ref.details) == ("Does iron matter?", "Journal of U.S. Sport", "3, 1-2")


def test_whitespace_in_the_entry_is_normalised() -> None:
    assert parse_reference(1, "  " + ENOKA.replace(" ", "  ") + "\u00a0").text == ENOKA


@pytest.mark.parametrize("text", ["", "A web page about running", "(2019). Untitled.", "Smith ((((2020"])
def test_unparseable_entries_keep_their_text_and_never_raise(text: str) -> None:
    ref = parse_reference(7, text)
    assert ref.n == 7
    assert ref.text == " ".join(text.split())
    assert ref.journal == ""


REFS = [
    parse_reference(1, ENOKA),
    parse_reference(2, "Sim, M., et al. (2019). Iron considerations for the athlete. BJSM, 53(21), 1319-1327."),
    parse_reference(
        3, "Nielsen, F.H., Lukaski, H.C. (2006). Magnesium and exercise. Magnesium Research, 19(3), 180-189."
    ),
    parse_reference(4, GHERARDI),
]


def test_cited_references_are_found_by_first_author_surname_in_ref_order() -> None:
    text = "Nielsen and Lukaski review magnesium; Sim and colleagues lay out why iron matters."
    assert cited_references(text, REFS) == (2, 3)


def test_cited_references_match_whole_words_case_sensitively() -> None:
    assert cited_references("Simple training, a simulation and enoka.", REFS) == ()
    assert cited_references("As Enoka and Duchateau describe, and Gherardi's team found.", REFS) == (1, 4)


def test_references_without_authors_are_never_cited() -> None:
    assert cited_references("anything at all", [parse_reference(1, "A web page")]) == ()
