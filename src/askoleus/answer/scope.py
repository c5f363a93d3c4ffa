"""What a question is about: coverage by the articles, near-domain terms, offers, and what to ask next."""

from __future__ import annotations

import re

import numpy as np

from askoleus.index.lexical import STOPWORDS, tokenize
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit, QueryEncoder

from .common_words import zipf, zipf_at_least
from .extract import Quote
from .routing import without_denied

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
# Questions about an offer, a discount, the newsletter or where to buy may quote promo blocks.
_OFFER = re.compile(
    r"\b(?:discounts?|offers?|deals?|promos?|promotions?|coupons?|vouchers?|codes?|newsletters?|subscrib\w*|"
    r"sign(?:ing)? up|buy|buying|purchase|(?<!in )order(?:ing)?|shop|shopping|money off|sales?|save|saving)\b",
    re.IGNORECASE,
)
# A word this rare in general English (Zipf 2.5: about one in three million words) that one edit (a letter
# added, dropped or changed, or two neighbours swapped) turns into a word of the articles with the same
# first letter is a misspelling of it: "iorn" -> "iron", "runers" -> "runners", "importnat" -> "important".
TYPO_ZIPF = 2.5
TYPO_MIN_LENGTH = 4  # shorter words are too often one edit from an unrelated word
_LABEL = re.compile(
    r"\b(?:vegan|vegetarians?|kosher|halal|gluten|lactose|dairy|allergens?|allergy|organic|gmo|sugar-free|keto)\b",
    re.IGNORECASE,
)
# A question asking for one of these kinds of fact about the company or the product is covered only
# when a retrieved passage states that kind of fact, like a price or a quantity in a unit (service):
# (what the question asks, what a passage stating it says).
_FACTS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "place": (
        re.compile(
            r"\bwhere (?:is|are|was|were)\b[^?]{0,40}\b(?:based|located|headquartered|from|made|produced|"
            r"manufactured)\b|\bheadquarter\w*|\b(?:which|what) (?:country|city|town)\b",
            re.I,
        ),
        re.compile(r"\b(?:based|located|headquartered|made|produced|manufactured) in\b|\bheadquarter\w*", re.I),
    ),
    "founding": (
        re.compile(
            r"\b(?:founded|founders?|co-?founders?|ceo|owns)\b|\bwhen was \w+(?: \w+)? (?:established|started)\b",
            re.I,
        ),
        re.compile(r"\b(?:founded|founders?|co-?founders?|established in|ceo|owned by|owners?)\b", re.I),
    ),
    "shipping": (
        re.compile(
            r"\b(?:ships?|shipping|shipped|delivery|deliveries|dispatch\w*|postage|couriers?|refunds?|"
            r"return policy)\b|\bdeliver (?:to|in|outside|abroad)\b",
            re.I,
        ),
        re.compile(r"\b(?:ships?|shipping|shipped|delivery|deliveries|dispatch\w*|postage|couriers?|refunds?)\b", re.I),
    ),
    "storage": (
        re.compile(
            r"\bhow (?:should|do|can|must|would) (?:i|you|we) store\b|\bhow to store\b|\bstorage\b|"
            r"\bshelf[- ]life\b|\brefrigerat\w*|\bfridge\b|\bexpir\w*|\bbest before\b|\bonce opened\b",
            re.I,
        ),
        re.compile(
            r"\bstor(?:e|ed|age) (?:in|at|below|away|upright|cool)\b|\brefrigerat\w*|\bfridge\b|\broom temperature\b|"
            r"\bshelf[- ]life\b|\bexpir\w*|\bbest before\b|\bonce opened\b",
            re.I,
        ),
    ),
    "label": (_LABEL, _LABEL),  # a dietary or sourcing label: only a passage naming one answers
}
# How much worse the question matches its best sentence than its known words alone do, before the
# words the articles never use count as the real subject (measured on the tune split, README).
NEAR_DOMAIN_MARGIN = 0.10
# A question whose only words of the articles are their titles' ("heavy legs", "runners") and that adds
# a word they never use asks about that word ("Are ice baths good for heavy legs?") when leaving the word
# out moves the question's vector this far (1 - cosine; tune split: asked-about words 0.12-0.19,
# wording like "worry" or "main takeaway" 0.03-0.07) ...
SUBJECT_SALIENCE = 0.09
# ... unless the word's nearest word of the articles is this close: a synonym or another form
# ("tired" -> "fatigue" 0.72, "jogging" -> "running" 0.80), where new subjects stay below (tune split:
# "weekly" -> "daily" 0.67, "treadmill" -> "stride" 0.57, "sauna" 0.38).
SYNONYM = 0.7
# A question that also uses article words beyond the titles ("Is creatine good for endurance runners?")
# is more often a paraphrase, so its new word must move it further and be further from every article
# word (tune split: 0.13 refuses a paraphrase, 0.17 lets "jet lag"-like questions through; a synonym
# bound of 0.6 refuses a tune paraphrase, 0.5 and 0.55 tie on tune).
WIDER_SALIENCE = 0.15
WIDER_SYNONYM = 0.55
# ... and only while no sentence matches the question this clearly: the questions it rightly refuses
# match at most 0.58 (tune and held out, golden and near_domain), while fresh paraphrases it wrongly
# refused match 0.70 ("Do heavy legs mean I'm hurt?") and 0.76 ("What makes heavy legs go away?").
NEW_SUBJECT_CEILING = 0.65
# What a comparison likens something to describes it; it is not what the question is about.
_SIMILE = re.compile(
    r"\b((?:feels?|felt|feeling|looks?|looked|seems?|seemed|is|are|was|were) like) (?:(?:a|an|the|some) )?\w+(?: \w+)?",
    re.IGNORECASE,
)
# Words this common in general English (Zipf 5.5: about 300 per million words) say how a
# question is asked ("make", "good", "year"), not what it is about, so they are never its subject.
COMMON_ZIPF = 5.5
# Words that ask what a product is made of name the kind of answer, not a subject: "What are the
# ingredients of the Daily Shot?" asks about the Daily Shot, whichever words its page uses for them
# ("the active compound is …"). A named substance ("Does it contain caffeine?") stays a subject.
_COMPOSITION = frozenset(
    [
        "ingredient",
        "ingredients",
        "contain",
        "contains",
        "containing",
        "contents",
        "composition",
        "formula",
        "formulation",
        "consist",
        "consists",
    ]
)
_NEVER_SUBJECT = STOPWORDS | _COMPOSITION
# A question is also covered when one sentence holds this share of its terms' IDF weight (a term
# the articles never use weighs as much as their rarest), however loose the vector match is.
LEXICAL_COVERAGE = 0.5
# A question sharing no uncommon word with the articles ("best marathon shoes for flat feet?") is
# covered only when its vectors match this well (above the tune split's off-topic questions).
UNSHARED_COVERAGE = 0.5


def asks_about_offer(question: str) -> bool:
    """The reader asks about an offer, a discount, the newsletter or where to buy."""
    return bool(_OFFER.search(question))


def best_sentence(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, depth: int = 3) -> tuple[float, np.ndarray]:
    """The best standalone sentence cosine among the top hits, and that sentence's vector."""
    best, vec = -1.0, np.zeros_like(qv)
    for h in hits[:depth]:
        sent = index.sentence_vectors(h.position)
        if len(sent):
            sims = sent @ qv
            j = int(sims.argmax())
            if float(sims[j]) > best:
                best, vec = float(sims[j]), sent[j]
    return best, vec


def coverage(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, depth: int = 3) -> float:
    """How well the articles cover a question: the best passage or sentence cosine among the top hits.

    Sentence vectors catch a question answered by one sentence of a long passage; the threshold
    on this value is calibrated on the labelled golden set (README, Answer quality).
    """
    return max(max((h.dense for h in hits), default=-1.0), best_sentence(index, hits, qv, depth)[0])


def near_domain(
    index: LoadedIndex, question: str, hits: list[Hit], qv: np.ndarray, cov: float, encode: QueryEncoder
) -> bool:
    """True when the question's subject is words the articles never use, and only its other words match.

    cov is the question's coverage (coverage()). "Is the Daily Shot vegan?": "vegan" occurs nowhere in
    the index, and the best sentence matches "Daily Shot" alone better than the whole question, so the
    match is about something else. A paraphrase ("which mineral ferries O2 …") also uses unknown words,
    but they carry its match: dropping them makes the best sentence fit worse. A question with no word
    of the articles at all needs a clear vector match (UNSHARED_COVERAGE). A question that adds a new
    subject to the articles' words is about the new one (_bounds: "Are ice baths good for heavy legs?").
    """
    # a symptom the reader denies is not what the question is about ("I don't have chest pain, but …")
    described = _SIMILE.sub(r"\1", without_denied(question))  # "legs feel like lead": lead describes them
    words = [w for w in _WORD.findall(described.lower()) if w not in _NEVER_SUBJECT and not _common(w)]
    known = [w for w in words if index.lexical.knows(w)]
    if len(known) == len(words):
        return False
    if not known and cov < UNSHARED_COVERAGE:  # a pure paraphrase: only its vector speaks for it, clearly
        return True
    unknown = list(dict.fromkeys(w for w in words if w not in known))
    joined = " ".join(known)
    if cov < NEW_SUBJECT_CEILING and len(index.word_vectors):
        synonym, salience = _bounds(index, hits, known)
        word_vectors = encode.recall(unknown)  # the word table has most words
        missing = [w for w in unknown if w not in word_vectors]
        if missing:  # one short call: the words and the known part
            fresh = encode.many([*missing, joined] if known else missing)
            word_vectors.update(zip(missing, fresh[: len(missing)], strict=True))
        nearest = nearest_words(index, np.stack([word_vectors[w] for w in unknown]))
        new = [w for w, n in zip(unknown, nearest, strict=True) if n < synonym]
        if new:
            # the question without each new word, with the known part when it is not at hand yet: one call
            leave_out = [
                " ".join(re.sub(rf"\b{re.escape(w)}\b", " ", question, flags=re.IGNORECASE).split()) for w in new
            ]
            moved = encode.many([*leave_out, joined] if known else leave_out)[: len(leave_out)]
            if max(1.0 - float(v @ qv) for v in moved) >= salience:
                return True
    if not known:
        return False
    _, vec = best_sentence(index, hits, qv)
    return float(vec @ qv) - float(vec @ encode(joined)) < -NEAR_DOMAIN_MARGIN


def fact_kind(question: str) -> str | None:
    """The kind of company or product fact the question asks for (place, founding, shipping, storage, label)."""
    return next((kind for kind, (asks, _) in _FACTS.items() if asks.search(question)), None)


def states_fact(kind: str, text: str) -> bool:
    """Whether a passage states the kind of fact named ("based in …" for a place)."""
    return bool(_FACTS[kind][1].search(text))


def correct_spelling(index: LoadedIndex, question: str) -> str:
    """The question with misspelt words of the articles corrected ("is iorn importnat" → "is iron important")."""

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower()
        if len(low) < TYPO_MIN_LENGTH or low in index.words or zipf_at_least(low, TYPO_ZIPF):
            return word
        shapes = index.words_by_shape
        near = [w for n in (-1, 0, 1) for w in shapes.get((low[0], len(low) + n), ()) if _one_edit(low, w)]
        return max(near, key=lambda w: (zipf(w), w)) if near else word

    return _WORD.sub(fix, question)


def _one_edit(a: str, b: str) -> bool:
    """a and b differ by one letter added, dropped or changed, or two neighbouring letters swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1 :]


def _bounds(index: LoadedIndex, hits: list[Hit], known: list[str]) -> tuple[float, float]:
    """(synonym, salience): how close to an article word a word the articles never use may be and still be
    new, and how far leaving a new word out must move the question for the word to be its subject.

    A new word is what the question asks about ("ice baths" added to "heavy legs") when its known
    words are all title words of the articles it matched (they say only what the articles are about);
    when it uses other article words too, the word must be further from them (WIDER_SYNONYM) and move
    it further (WIDER_SALIENCE). Needs the generation's word vectors (the caller checks).
    """
    if _only_title_words(index, hits, known):
        return SYNONYM, SUBJECT_SALIENCE
    return WIDER_SYNONYM, WIDER_SALIENCE


def nearest_word(index: LoadedIndex, vector: np.ndarray) -> float:
    """The cosine of a word's vector with the closest word of the articles (0.0 without word vectors)."""
    return float(nearest_words(index, vector[None, :])[0])


def nearest_words(index: LoadedIndex, vectors: np.ndarray) -> np.ndarray:
    """nearest_word for each row of vectors, in one product with the articles' word vectors."""
    if not len(index.word_vectors):
        return np.zeros(len(vectors), dtype=np.float32)
    nearest: np.ndarray = (index.word_vectors @ vectors.T).max(axis=0)
    return nearest


def _only_title_words(index: LoadedIndex, hits: list[Hit], known: list[str], depth: int = 3) -> bool:
    """True when every known word is a word of the matched articles' titles ("heavy legs", "runners")."""
    titles = {t for h in hits[:depth] for t in tokenize(h.chunk.title) if len(t) >= 3}
    return all(any(t.startswith(title) for title in titles) for w in known for t in tokenize(w) or [w])


def _common(word: str) -> bool:
    """A word so frequent in general English that it cannot be what a question is about."""
    return zipf_at_least(word, COMMON_ZIPF)


def lexical_coverage(index: LoadedIndex, question: str, hits: list[Hit], depth: int = 3) -> float:
    """The largest share of the question's IDF weight that one sentence of the top hits contains."""
    terms = set(tokenize(question))
    rarest = max((index.lexical.idf(t) for t in terms), default=0.0)
    weight = {t: index.lexical.idf(t) or rarest for t in terms}
    total = sum(weight.values())
    if not total:
        return 0.0
    best = 0.0
    for h in hits[:depth]:
        for s, e in index.sent_spans[h.position]:
            own = set(tokenize(h.chunk.text[s:e]))
            best = max(best, sum(weight[t] for t in terms if t in own) / total)
    return best


def section_key(article_id: str, anchor: str) -> str:
    """How a conversation remembers a section it has shown."""
    return f"{article_id}#{anchor}"


def suggestions(
    index: LoadedIndex, quotes: list[Quote], hits: list[Hit], shown: frozenset[str]
) -> list[tuple[str, str]]:
    """(key, heading) of up to 3 question headings of sections near the answer not shown yet.

    Near means: the sections of the other retrieved passages (by rank), then the sections right
    after and before the quoted ones in their article.
    """
    quoted = {section_key(q.hit.chunk.article_id, q.hit.chunk.anchor) for q in quotes}
    near = [(section_key(h.chunk.article_id, h.chunk.anchor), h.chunk.section) for h in hits]
    for q in quotes:
        article = index.articles.get(q.hit.chunk.article_id)
        sections = article.sections if article else []
        at = next((i for i, s in enumerate(sections) if s.anchor == q.hit.chunk.anchor), None)
        around = [i for i in ((at + 1, at - 1) if at is not None else ()) if 0 <= i < len(sections)]
        near.extend((section_key(q.hit.chunk.article_id, sections[i].anchor), sections[i].heading) for i in around)
    out: dict[str, tuple[str, str]] = {}
    for key, heading in near:
        heading = heading.strip()
        if key in quoted or key in shown or heading in out or not heading.endswith("?"):
            continue
        out[heading] = (key, heading)
    return list(out.values())[:3]
