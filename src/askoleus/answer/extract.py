"""Extractive answers: the published sentence that answers the question first, then what adds to it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from wordfreq import zipf_frequency

from askoleus.index.lexical import PREFIX, tokenize
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import Hit

# A sentence opening like this leans on the one before it; quote that one too.
LEANS_BACK = re.compile(
    r"^(?:it|its|this|that|these|those|they|their|he|she|but|and|so|also|however|either way|"
    r"then|such|the same)\b",
    re.IGNORECASE,
)
# Sentences that only point to another page ("The wider picture is in our guide to …") say nothing
# on their own: the site exports them without the link, so quoting them answers nothing.
_SIGNPOST = re.compile(
    r"\b(?:(?:is|are) in our (?:guide|article|post|piece)|we (?:break down|cover|explain|look at) in|"
    r"read (?:more|our)|see our (?:guide|article|post))\b",
    re.IGNORECASE,
)
NEAR_DUPLICATE = 0.92
ECHO_FREE = 0.4  # a sentence sharing this much with the question is relevant, not yet an echo
CONTEXT = 0.25  # weight of the sentence before, for a sentence that leans on it
RARE_ZIPF = 6.0  # words at least this common in English (Zipf) are not rare at all
RARE_SPAN = 3.0  # a word this far below RARE_ZIPF counts as fully rare
SENTENCE_IDF = False
FOCUS_SHARE = 0.4  # a term carrying this share of the question's weight is its subject
COMMON_WORDS = False
COMMON_ZIPF = 5.5
DEFINES = True
THIN = 3  # a sentence adding fewer new content words than this to the question says little
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
SUBJECT_SHARE = 0.5  # a lead holding this share of the question's IDF weight names its subject

# What kind of answer a question asks for, and what a sentence giving that kind of answer contains.
_ANSWER_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("price", re.compile(r"\bhow much\b[^?]*\bcosts?\b|\b(?:prices?|priced|expensive|cheap(?:er|est)?)\b", re.I)),
    # offers: a discount is answered by a code or a percentage, where to buy by a call to action
    ("discount", re.compile(r"\b(?:discounts?|promo(?:tion)?s?|coupons?|vouchers?|codes?|save|saving|money off|deals?)\b", re.I)),
    ("purchase", re.compile(r"\b(?:where|how)\b[^?]*\b(?:buy|order|purchase|shop|get hold of)\b", re.I)),
    ("source", re.compile(r"\b(?:which|what|whose) (?:study|studies|journal|paper|review|research)|^\s*who\b", re.I)),
    ("time", re.compile(r"\bhow (?:long|soon|often)\b|\b(?:what|which) year\b|^\s*when\b", re.I)),
    # a quantity in a unit: a pace, a speed, a distance, a cadence, calories
    (
        "measure",
        re.compile(
            r"\bhow (?:fast|far)\b|\bhow (?:many|much) (?:km|kms|kilomet\w*|miles?|metres?|meters?|calories|kcal|"
            r"steps)\b|\b(?:what|which) (?:\w+ )?(?:pace|speed|cadence|distance|mileage)\b",
            re.I,
        ),
    ),
    ("number", re.compile(r"\bhow (?:many|much)\b", re.I)),
    ("cause", re.compile(r"^\s*why\b|\bwhat (?:causes?|makes)\b|\breasons?\b", re.I)),
    ("definition", re.compile(r"^\s*what (?:is|are|does .{1,40} mean)\b", re.I)),
    (
        "verdict",
        re.compile(
            r"^\s*(?:is|are|does|do|can|could|should|shoud|will|would|am)\b|\b(?:is (?:that|it|this)|should i)\b", re.I
        ),
    ),
]
_CUES: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"[€$£]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:€|eur|euros?|dollars?|pounds?)\b", re.I),
    "discount": re.compile(r"\d\s?%|\b(?:code|coupon|voucher)\b", re.I),
    "purchase": re.compile(r"^(?:shop|buy|order|get yours)\b|\b(?:available (?:at|from|on|in)|stockists?)\b", re.I),
    "source": re.compile(r"\b(?:study|studies|review|reviews|colleagues|et al|journal|research)\b|\b(?:19|20)\d\d\b"),
    "time": re.compile(r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|daily|(?:19|20)\d\d)\b", re.I),
    "number": re.compile(
        r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|several|few)\b", re.I
    ),
    "measure": re.compile(
        r"\d+(?:[.,:]\d+)?\s?(?:km|kilomet\w*|miles?|mi|metres?|meters?|kcal|calories|min(?:utes?)?\s?(?:/|per)\s?"
        r"(?:km|kilomet\w*|miles?)|mph|km/h|kph|spm|steps)\b",
        re.I,
    ),
    "cause": re.compile(
        r"\b(?:because|causes?|caused|reasons?|driven by|due to|so that|leads? to|why|when .+ cannot)\b", re.I
    ),
    "definition": re.compile(r"\b(?:is|are|means?|refers to)\b", re.I),
    # a yes/no question is answered by a sentence that rules something in or out
    "verdict": re.compile(r"\b(?:not|no|never|rather than|only|exactly|whole)\b|n't\b", re.I),
}


def signals_kind(kind: str, text: str) -> bool:
    """Whether text holds the kind of answer named (a price for "price", a number for "number", …)."""
    return bool(_CUES[kind].search(text))


def answer_type(question: str) -> str | None:
    """The kind of answer the question asks for (cause, definition, source, time, measure, number, price)."""
    return next((name for name, pattern in _ANSWER_TYPES if pattern.search(question)), None)


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made up; chosen on the golden set's tune split (README)."""

    sentence: float = 0.6  # standalone sentence cosine with the question
    passage: float = 0.2  # the passage's fused retrieval score
    terms: float = 0.1  # share of the question's terms the sentence contains
    lexical: float = 0.4  # share of the question's term weight (BM25 IDF) the sentence contains
    follow: float = 0.1  # share of the sentence before's cosine: a restated question is followed by its answer
    echo: float = 0.6  # penalty when the sentence's words are mostly the question's own
    cue: float = 0.08  # bonus when the sentence holds the kind of answer asked for
    verdict: float = 0.3  # bonus for a yes/no question's sentence that rules something in or out
    margin: float = 0.2  # further sentences must score within this of the best one
    heading: float = 0.0  # bonus for a section's first sentence, times the share of the question its heading holds
    verdict_relevance: float = 0.2  # 0: verdict bonus for any ruling sentence; >0: scaled by lexical share / this
    rarity: float = 0.0  # blend of general-English rarity into term weights (0: corpus IDF only)
    offer: float = 0.6  # bonus for a code or a call to action answering a discount or where-to-buy question
    echo_free: float = 0.4  # a sentence sharing this share of its terms with the question is not yet an echo
    focus: float = 0.0  # penalty for a sentence that does not name the question's subject (FOCUS_SHARE)
    thin: float = 0.0  # penalty for a sentence adding fewer than THIN new content words to the question


WEIGHTS = Weights()


@dataclass(frozen=True)
class Quote:
    """One sentence taken verbatim from a retrieved passage; sentence_pos is its index in the passage."""

    hit: Hit
    sentence_pos: int
    text: str
    score: float
    bonus: float = 0.0  # the part of score that ranks the opening only (answer-type cues), not the rest


def echo_share(sentence_terms: set[str], question_terms: set[str], free: float = ECHO_FREE) -> float:
    """0 while at most `free` of the sentence's terms are the question's, rising to 1 for a pure echo."""
    if not sentence_terms:
        return 1.0
    share = len(sentence_terms & question_terms) / len(sentence_terms)
    return max(0.0, share - free) / (1 - free)


def _cue_pattern(kind: str | None, index: LoadedIndex, hit: Hit) -> re.Pattern[str] | None:
    """The cue for an answer type; for sources, also the surnames of the article's cited authors."""
    if kind != "source":
        return _CUES.get(kind) if kind else None
    article = index.articles.get(hit.chunk.article_id)
    names = [r.first_author for r in (article.references if article else []) if r.first_author]
    if not names:
        return _CUES["source"]
    return re.compile(_CUES["source"].pattern + "|" + "|".join(rf"\b{re.escape(n)}\b" for n in names))


def term_weights(index: LoadedIndex, question: str, rarity: float = 0.0) -> dict[str, float]:
    """Each question term's weight: its IDF over the index's sentences, scaled by how rare the word is in English.

    Sentences, not chunks: a blog has few chunks, so chunk IDF hardly separates words. In a
    one-article corpus "runners" is as rare as "magnesium"; general-English rarity (wordfreq's
    Zipf scale, whose data ships in the wheel) puts the rarer subject back on top. A word the
    articles never use counts by its first PREFIX letters ("magnesum" as "magnesium").
    """
    df, n = _sentence_frequencies(index)
    out: dict[str, float] = {}
    for word in _WORD.findall(question.lower()):
        stems = tokenize(word)
        if not stems:
            continue
        stem = stems[0]
        if SENTENCE_IDF:
            count = df.get(stem) or (df.get("\0" + stem[:PREFIX], 0) if len(stem) >= PREFIX else 0)
            idf = math.log(1 + (n - count + 0.5) / (count + 0.5)) if count else 0.0
        else:
            idf = index.lexical.prefix_idf(stem)
        zipf = zipf_frequency(word, "en")
        if COMMON_WORDS and zipf >= COMMON_ZIPF:
            continue
        rare = min(1.0, max(0.0, (RARE_ZIPF - zipf) / RARE_SPAN))
        out[stem] = max(out.get(stem, 0.0), idf * (1 - rarity + rarity * rare))
    return out


_FREQUENCIES: dict[str, tuple[dict[str, int], int]] = {}


def _sentence_frequencies(index: LoadedIndex) -> tuple[dict[str, int], int]:
    """How many answerable sentences of the index hold each stem (and each PREFIX, keyed "\\0" + prefix)."""
    cached = _FREQUENCIES.get(index.generation)
    if cached is not None:
        return cached
    df: dict[str, int] = {}
    n = 0
    for chunk, spans in zip(index.chunks, index.sent_spans, strict=True):
        if chunk.kind == "references":
            continue
        for s, e in spans:
            n += 1
            own = set(tokenize(chunk.text[s:e]))
            for t in own | {"\0" + t[:PREFIX] for t in own if len(t) >= PREFIX}:
                df[t] = df.get(t, 0) + 1
    if len(_FREQUENCIES) > 4:  # only the current generation and a few before it are ever asked
        _FREQUENCIES.clear()
    _FREQUENCIES[index.generation] = (df, n)
    return df, n


def _section_start(index: LoadedIndex, hit: Hit) -> bool:
    """The hit's first sentence opens a section under its own heading (not the article's introduction)."""
    c = hit.chunk
    if c.section == c.title or (hit.position > 0 and index.chunks[hit.position - 1].anchor == c.anchor):
        return False
    return True


def candidates(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, question: str, w: Weights) -> list[Quote]:
    """Every sentence of the hits, scored as an answer to the question."""
    weight = term_weights(index, question, w.rarity)
    terms = set(weight)
    total = sum(weight.values())
    kind = answer_type(question)
    quotes: list[Quote] = []
    for hit in hits:
        spans = index.sent_spans[hit.position]
        vecs = index.sentence_vectors(hit.position)
        sims = _in_context(vecs, spans, hit.chunk.text) @ qv if spans else np.zeros(0)
        raw = vecs @ qv if spans else np.zeros(0)
        cue = _cue_pattern(kind, index, hit)
        heading = 0.0
        if w.heading and _section_start(index, hit) and total:
            head = set(tokenize(hit.chunk.section))
            heading = sum(weight[t] for t in terms if _contains(head, t)) / total
        for j, (s, e) in enumerate(spans):
            text = hit.chunk.text[s:e]
            own = set(tokenize(text))
            overlap = len(terms & own) / len(terms) if terms else 0.0
            lexical = sum(weight[t] for t in terms if _contains(own, t)) / total if total else 0.0
            score = w.sentence * float(sims[j]) + w.passage * hit.score + w.terms * overlap + w.lexical * lexical
            score -= w.echo * echo_share(own, terms, w.echo_free)
            if j > 0:
                score += w.follow * max(0.0, float(raw[j - 1]))
            elif heading:
                score += w.heading * heading
            if w.thin:
                score -= w.thin * max(0, THIN - len(own - terms)) / THIN
            bonus = 0.0
            if kind == "definition" and DEFINES:
                if _defines(text, terms):
                    bonus = w.cue
            elif cue is not None and cue.search(text):
                if kind in ("discount", "purchase"):
                    bonus = w.offer
                elif kind != "verdict":
                    bonus = w.cue
                elif w.verdict_relevance:
                    bonus = w.verdict * min(1.0, max(lexical, overlap) / w.verdict_relevance)
                else:
                    bonus = w.verdict
            quotes.append(Quote(hit, j, text, score + bonus, bonus))
    return _off_subject(index, quotes, weight, w.focus) if w.focus else quotes


_DEFINITION = re.compile(r"^((?:[\w'\u2019\"“”,-]+\s+){0,5}?)(?:is|are|means?|refers to)\b", re.IGNORECASE)


def _defines(text: str, terms: set[str]) -> bool:
    """The sentence defines one of the question's terms: "Heavy legs are …", "Oleuropein is …"."""
    m = _DEFINITION.match(text)
    return bool(m and m.group(1) and set(tokenize(m.group(1))) & terms)


def _off_subject(index: LoadedIndex, quotes: list[Quote], weight: dict[str, float], penalty: float) -> list[Quote]:
    """Quotes lose `penalty` when neither they nor the sentence they lean on name the question's subject.

    The subject is the question's heaviest term when it carries at least FOCUS_SHARE of the weight
    ("magnesium" in "What role does magnesium play for runners?"), and only when some quote names it:
    the vectors alone rank "It carries oxygen …" (about iron) above the magnesium sentence.
    """
    total = sum(weight.values())
    if not total:
        return quotes
    subject = max(weight, key=lambda t: weight[t])
    if weight[subject] < FOCUS_SHARE * total:
        return quotes

    def names(q: Quote) -> bool:
        before = _antecedent(index, q)
        text = q.text if before is None else f"{before.text} {q.text}"
        return _contains(set(tokenize(text)), subject)

    flags = [names(q) for q in quotes]
    if not any(flags):
        return quotes
    return [q if f else Quote(q.hit, q.sentence_pos, q.text, q.score - penalty, q.bonus) for q, f in zip(quotes, flags, strict=True)]


def _contains(own: set[str], term: str) -> bool:
    """The sentence has the term, or a word sharing its first PREFIX letters (a typo, another form)."""
    return term in own or (len(term) >= PREFIX and any(t[:PREFIX] == term[:PREFIX] for t in own if len(t) >= PREFIX))


def _in_context(vecs: np.ndarray, spans: list[tuple[int, int]], text: str) -> np.ndarray:
    """Sentence vectors where one that leans back ("It carries oxygen …") also means the one before."""
    out = vecs.astype(np.float32, copy=True)
    for j in range(1, len(spans)):
        if LEANS_BACK.match(text[spans[j][0] : spans[j][1]]):
            v = vecs[j] + CONTEXT * vecs[j - 1]
            out[j] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def select_quotes(
    index: LoadedIndex,
    hits: list[Hit],
    qv: np.ndarray,
    *,
    max_sentences: int = 3,
    question: str = "",
    weights: Weights = WEIGHTS,
) -> list[Quote]:
    """The best sentence first (after the sentence it leans on), then close runners-up in reading order."""
    quotes = sorted(candidates(index, hits, qv, question, weights), key=lambda q: -q.score)
    quotes = [q for q in quotes if len(q.text.split()) >= 3 and not _SIGNPOST.search(q.text)]
    if not quotes:
        return []
    quotes = _continuation_first(index, quotes, question)
    best = quotes[0].score - quotes[0].bonus
    chosen: list[Quote] = []
    chosen_vecs: list[np.ndarray] = []
    for q in quotes:
        if chosen and (q.score - q.bonus < best - weights.margin or _size(index, [*chosen, q]) > max_sentences):
            continue
        v = index.sentence_vectors(q.hit.position)[q.sentence_pos]
        if any(q.text == c.text or float(v @ cv) > NEAR_DUPLICATE for c, cv in zip(chosen, chosen_vecs, strict=True)):
            continue
        chosen.append(q)
        chosen_vecs.append(v)
    rank = {id(h): i for i, h in enumerate(hits)}
    lead, rest = chosen[0], sorted(chosen[1:], key=lambda q: (rank.get(id(q.hit), 0), q.sentence_pos))
    return _with_antecedents(index, [lead, *rest])


def _continuation_first(index: LoadedIndex, quotes: list[Quote], question: str) -> list[Quote]:
    """When the lead names the question's subject ("Beetroot juice is a different story"), the sentence
    right after it that leans on it ("It is rich in nitrate …") says what the subject does: it is scored
    halfway to the lead and considered first among the runners-up."""
    lead = quotes[0]
    if lexical_share(index, question, lead.text) < SUBJECT_SHARE:
        return quotes
    for i, q in enumerate(quotes[1:], 1):
        if q.hit.position == lead.hit.position and q.sentence_pos == lead.sentence_pos + 1 and LEANS_BACK.match(q.text):
            lifted = Quote(q.hit, q.sentence_pos, q.text, (q.score + lead.score) / 2 + q.bonus / 2, q.bonus)
            return [lead, lifted, *quotes[1:i], *quotes[i + 1 :]]
    return quotes


def lexical_share(index: LoadedIndex, question: str, sentence: str) -> float:
    """The share of the question's IDF weight that the sentence holds."""
    terms = set(tokenize(question))
    weight = {t: index.lexical.idf(t) for t in terms}
    total = sum(weight.values())
    own = set(tokenize(sentence))
    return sum(weight[t] for t in terms if _contains(own, t)) / total if total else 0.0


def _antecedent(index: LoadedIndex, q: Quote) -> Quote | None:
    """The sentence q leans on ("It carries oxygen" needs "Iron is the big one"), if any."""
    if q.sentence_pos == 0 or not LEANS_BACK.match(q.text):
        return None
    s, e = index.sent_spans[q.hit.position][q.sentence_pos - 1]
    return Quote(q.hit, q.sentence_pos - 1, q.hit.chunk.text[s:e], q.score)


def _size(index: LoadedIndex, quotes: list[Quote]) -> int:
    """Sentences quotes make once each brings the sentence it leans on."""
    return len(_with_antecedents(index, quotes))


def _with_antecedents(index: LoadedIndex, quotes: list[Quote]) -> list[Quote]:
    """quotes in order, each preceded by the sentence it leans on, without repeats."""
    out: list[Quote] = []
    have: set[tuple[int, int]] = set()
    for q in quotes:
        chain = [q]
        while (before := _antecedent(index, chain[0])) is not None and len(chain) < 2:
            chain.insert(0, before)
        for c in chain:
            key = (c.hit.position, c.sentence_pos)
            if key not in have:
                have.add(key)
                out.append(c)
    return out
