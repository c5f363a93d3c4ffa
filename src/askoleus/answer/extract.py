"""Extractive answers: the published sentence that answers the question first, then what adds to it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

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
# A short sentence about the reader ("Some days your legs just feel heavy.", "You slept.") sets the
# scene; it restates the reader's situation and answers nothing on its own.
SCENE_WORDS = 8
_READER = re.compile(r"\b(?:you|your|you're|yours)\b", re.IGNORECASE)
ECHO_FREE = 0.4  # a sentence sharing this much with the question is relevant, not yet an echo
CONTEXT = 0.25  # weight of the sentence before, for a sentence that leans on it
SUBJECT_SHARE = 0.5  # a lead holding this share of the question's IDF weight names its subject

# A definition names what it defines before its verb: "Heavy legs are …", "Oleuropein is …".
_DEFINITION = re.compile(r"^((?:[\w'\u2019\"\u201c\u201d,-]+\s+){1,5}?)(?:is|are|means?|refers to)\b", re.IGNORECASE)

# What kind of answer a question asks for, and what a sentence giving that kind of answer contains.
_ANSWER_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("price", re.compile(r"\bhow much\b[^?]*\bcosts?\b|\b(?:prices?|priced|expensive|cheap(?:er|est)?)\b", re.I)),
    # offers: a discount is answered by a code or a percentage, where to buy by a call to action
    (
        "discount",
        re.compile(
            r"\b(?:discounts?|promo(?:tion)?s?|coupons?|vouchers?|codes?|deals?|money off)\b|"
            r"\b(?:save|saving)\b[^?]*\b(?:money|order|price|cost|purchase)",
            re.I,
        ),
    ),
    ("purchase", re.compile(r"\b(?:where|how)\b[^?]*\b(?:buy|(?<!in )order|purchase|shop|get hold of)\b", re.I)),
    # how can I / what should I do: advice, given in the imperative
    (
        "advice",
        re.compile(
            r"^\s*(?:so\s+)?(?:how (?:can|do|should|could) (?:i|we|you)|what (?:can|should|could) (?:i|we|you) do|"
            r"how to)\b|\bwhat (?:helps|works)\b",
            re.I,
        ),
    ),
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
    # what a product is made of: answered by the sentence naming its compound or ingredients
    (
        "composition",
        re.compile(
            r"\b(?:ingredients?|contains?|contents|composition|formula(?:tion)?|made (?:of|from|with))\b|"
            r"\bwhat(?:'s|\u2019s| is| are)(?: actually)? in\b",
            re.I,
        ),
    ),
    ("definition", re.compile(r"^\s*(?:\w+,\s*)?what (?:is|are|does .{1,40} mean)\b", re.I)),
    (
        "verdict",
        re.compile(
            r"^\s*(?:is|are|does|do|can|could|should|shoud|will|would|am)\b|"
            r"^(?!\s*(?:what|which|who|whom|whose|why|how|when|where)\b).*\b(?:is (?:that|it|this)|should i)\b",
            re.I,
        ),
    ),
]
_CUES: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"[€$£]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:€|eur|euros?|dollars?|pounds?)\b", re.I),
    "discount": re.compile(r"\d\s?%|\b(?:code|coupon|voucher)\b", re.I),
    "purchase": re.compile(r"^(?:shop|buy|order|get yours)\b|\b(?:available (?:at|from|on|in)|stockists?)\b", re.I),
    "advice": re.compile(
        r"^(?:and\s+)?(?:recover|rest|address|support|find|check|eat|train|sleep|take|try|add|avoid|keep|build|drink|"
        r"reduce|increase|see|ask|talk|start|stop|focus|give|let|make sure|back off|ease)\b|\b(?:is|are) worth\b",
        re.I,
    ),
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
    "composition": re.compile(
        r"\b(?:compounds?|ingredients?|contains?|made (?:from|of|with)|extracts?|derived from|\d+\s?mg)\b", re.I
    ),
    "cause": re.compile(
        r"\b(?:because|causes?|caused|reasons?|driven by|due to|so that|leads? to|why|when .+ cannot)\b", re.I
    ),
    # a yes/no question is answered by a sentence that rules something in or out, or hedges ("Sometimes it is …")
    "verdict": re.compile(
        r"\b(?:not|no|never|rather than|only|exactly|whole)\b|n't\b|"
        r"^(?:sometimes|usually|often|rarely)\b|\bit depends\b",
        re.I,
    ),
}


def signals_kind(kind: str, text: str) -> bool:
    """Whether text holds the kind of answer named (a price for "price", a number for "number", …)."""
    pattern = _CUES.get(kind)
    return bool(pattern and pattern.search(text))


def answer_type(question: str) -> str | None:
    """The kind of answer the question asks for (price, discount, advice, cause, verdict, …), or None."""
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
    verdict: float = 0.3  # bonus for a yes/no question's sentence that rules something in or out …
    relevant: float = 0.2  # … in full once it holds this share of the question's terms (IDF weight), else pro rata
    scene: float = 0.15  # penalty for a short sentence about the reader ("Some days your legs just feel heavy.")
    offer: float = 0.6  # bonus for a code or a call to action answering a discount or where-to-buy question
    composition: float = 0.6  # as offer: the sentence naming a compound or ingredients, asked what a product holds
    margin: float = 0.2  # further sentences must score within this of the best one


WEIGHTS = Weights()


@dataclass(frozen=True)
class Quote:
    """One sentence taken verbatim from a retrieved passage; sentence_pos is its index in the passage."""

    hit: Hit
    sentence_pos: int
    text: str
    score: float
    bonus: float = 0.0  # the part of score that ranks the opening only (answer-type cues), not the rest


def echo_share(sentence_terms: set[str], question_terms: set[str]) -> float:
    """0 while at most ECHO_FREE of the sentence's terms are the question's, rising to 1 for a pure echo."""
    if not sentence_terms:
        return 1.0
    share = len(sentence_terms & question_terms) / len(sentence_terms)
    return max(0.0, share - ECHO_FREE) / (1 - ECHO_FREE)


def _cue_pattern(kind: str | None, index: LoadedIndex, hit: Hit) -> re.Pattern[str] | None:
    """The cue for an answer type; for sources, also the surnames of the article's cited authors."""
    if kind != "source":
        return _CUES.get(kind) if kind else None
    article = index.articles.get(hit.chunk.article_id)
    names = [r.first_author for r in (article.references if article else []) if r.first_author]
    if not names:
        return _CUES["source"]
    return re.compile(_CUES["source"].pattern + "|" + "|".join(rf"\b{re.escape(n)}\b" for n in names))


def candidates(index: LoadedIndex, hits: list[Hit], qv: np.ndarray, question: str, w: Weights) -> list[Quote]:
    """Every sentence of the hits, scored as an answer to the question."""
    terms, weight, total = _idf_weights(index, question)
    kind = answer_type(question)
    quotes: list[Quote] = []
    for hit in hits:
        spans = index.sent_spans[hit.position]
        vecs = index.sentence_vectors(hit.position)
        sims = _in_context(vecs, spans, hit.chunk.text) @ qv if spans else np.zeros(0)
        raw = vecs @ qv if spans else np.zeros(0)
        cue = _cue_pattern(kind, index, hit)
        for j, (s, e) in enumerate(spans):
            text = hit.chunk.text[s:e]
            own = set(tokenize(text))
            overlap = len(terms & own) / len(terms) if terms else 0.0
            lexical = _idf_share(own, weight, total)
            score = w.sentence * float(sims[j]) + w.passage * hit.score + w.terms * overlap + w.lexical * lexical
            score -= w.echo * echo_share(own, terms)
            if len(text.split()) <= SCENE_WORDS and _READER.search(text):
                score -= w.scene
            if j > 0:
                score += w.follow * max(0.0, float(raw[j - 1]))
            bonus = _bonus(kind, cue, text, terms, max(lexical, overlap), w)
            quotes.append(Quote(hit, j, text, score + bonus, bonus))
    return quotes


def _bonus(
    kind: str | None, cue: re.Pattern[str] | None, text: str, terms: set[str], share: float, w: Weights
) -> float:
    """What a sentence gains as an opening for holding the kind of answer asked for.

    A definition must name one of the question's terms before its verb ("Heavy legs are …"), not
    any "is". A yes/no question's ruling ("not", "rather than") counts in proportion to how much
    of the question the sentence shares, so "You are not obviously overtrained." cannot open an
    answer about something else. A code or a call to action is the answer to an offer question
    however little its few words match the question's vector.
    """
    if kind == "definition":
        m = _DEFINITION.match(text)
        return w.cue if m and set(tokenize(m.group(1))) & terms else 0.0
    if cue is None or not cue.search(text):
        return 0.0
    if kind == "verdict":
        return w.verdict * (min(1.0, share / w.relevant) if w.relevant > 0 else 1.0)
    if kind == "composition":
        return w.composition
    return w.offer if kind in ("discount", "purchase") else w.cue


def _contains(own: set[str], term: str, starts: set[str]) -> bool:
    """The sentence has the term, or a word sharing its first PREFIX letters (starts: _starts(own))."""
    return term in own or (len(term) >= PREFIX and term[:PREFIX] in starts)


def _starts(own: set[str]) -> set[str]:
    """The first PREFIX letters of the words that have that many."""
    return {t[:PREFIX] for t in own if len(t) >= PREFIX}


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
    """The sentence right after the lead is considered first among the runners-up (scored halfway to it) when

    - the lead names the question's subject ("Beetroot juice is a different story") and the next sentence
      leans on it ("It is rich in nitrate …"): it says what the subject does;
    - the lead opens a passage in the middle of a section, leaning on the previous passage ("That daily
      support is where OLEUS fits."): the sentence after it says what the lead only points to, so it
      scores as the lead does and always follows it.
    """
    lead = quotes[0]
    orphan = lead.sentence_pos == 0 and _continues_section(index, lead.hit) and bool(LEANS_BACK.match(lead.text))
    if not orphan and lexical_share(index, question, lead.text) < SUBJECT_SHARE:
        return quotes
    for i, q in enumerate(quotes[1:], 1):
        if q.hit.position != lead.hit.position or q.sentence_pos != lead.sentence_pos + 1:
            continue
        if orphan or LEANS_BACK.match(q.text):
            # a lead that only points ahead is no answer without what it points to: that always follows
            score = lead.score - lead.bonus + q.bonus if orphan else (q.score + lead.score) / 2 + q.bonus / 2
            lifted = Quote(q.hit, q.sentence_pos, q.text, score, q.bonus)
            return [lead, lifted, *quotes[1:i], *quotes[i + 1 :]]
    return quotes


def _continues_section(index: LoadedIndex, hit: Hit) -> bool:
    """The hit's passage is not the first of its section: the passage before it has the same article and anchor."""
    if hit.position == 0:
        return False
    before = index.chunks[hit.position - 1]
    return before.article_id == hit.chunk.article_id and before.anchor == hit.chunk.anchor


def lexical_share(index: LoadedIndex, question: str, sentence: str) -> float:
    """The share of the question's IDF weight that the sentence holds."""
    _, weight, total = _idf_weights(index, question)
    return _idf_share(set(tokenize(sentence)), weight, total)


def _idf_weights(index: LoadedIndex, question: str) -> tuple[set[str], dict[str, float], float]:
    """The question's terms, the IDF of each, and their sum."""
    terms = set(tokenize(question))
    weight = {t: index.lexical.idf(t) for t in terms}
    return terms, weight, sum(weight.values())


def _idf_share(own: set[str], weight: dict[str, float], total: float) -> float:
    """The share of total IDF weight whose terms the sentence (its tokens own) holds."""
    if not total:
        return 0.0
    starts = _starts(own)
    return sum(w for t, w in weight.items() if _contains(own, t, starts)) / total


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
