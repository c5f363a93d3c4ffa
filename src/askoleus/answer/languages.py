"""The question's language, and fixed replies in the reader's language: red flags and "answers in English".

Detection is py3langid (its model ships inside the package: nothing downloads), restricted to English and
the languages we have templates for. English is the default: a question is taken as another language only
when the detector gives English a very low probability and the question has a few words, so short or
ambiguous English ("ATP?", "iron and magnesium", typos) stays English. Every template and term list here
is written and reviewed by us; nothing is translated by a machine at run time.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from askoleus.config import Settings

from .routing import first_unnegated, route

LocalRoute = Literal["emergency", "english_only"]
SUPPORTED = ("de", "fr", "es", "it", "nl", "pt")

EMERGENCY = {
    "de": "Was Sie beschreiben, kann ein Anzeichen für einen medizinischen Notfall sein. Bitte hören Sie sofort "
    "mit dem Training auf und holen Sie ärztliche Hilfe: Rufen Sie den Notruf an (112 in Europa) oder gehen Sie "
    "in die nächste Notaufnahme. Unsere Artikel können dabei nicht helfen.",
    "fr": "Ce que vous décrivez peut être le signe d'une urgence médicale. Arrêtez l'effort et demandez de l'aide "
    "médicale maintenant : appelez le numéro d'urgence (112 en Europe) ou rendez-vous aux urgences les plus "
    "proches. Nos articles ne peuvent pas vous aider dans ce cas.",
    "es": "Lo que describe puede ser señal de una urgencia médica. Deje de hacer ejercicio y busque atención "
    "médica ahora: llame al número de emergencias (112 en Europa) o acuda al servicio de urgencias más cercano. "
    "Nuestros artículos no pueden ayudarle con esto.",
    "it": "Ciò che descrive può essere il segnale di un'emergenza medica. Interrompa subito l'attività fisica e "
    "chieda assistenza medica: chiami il numero di emergenza (112 in Europa) o si rechi al pronto soccorso più "
    "vicino. I nostri articoli non possono aiutarla in questo caso.",
    "nl": "Wat u beschrijft, kan wijzen op een medisch noodgeval. Stop direct met sporten en zoek nu medische "
    "hulp: bel het alarmnummer (112 in Europa) of ga naar de dichtstbijzijnde spoedeisende hulp. Onze artikelen "
    "kunnen u hierbij niet helpen.",
    "pt": "O que descreve pode ser sinal de uma emergência médica. Pare de fazer exercício e procure assistência "
    "médica agora: ligue para o número de emergência (112 na Europa) ou dirija-se ao serviço de urgência mais "
    "próximo. Os nossos artigos não podem ajudar nesta situação.",
}
ENGLISH_ONLY = {
    "de": "Entschuldigung, askoleus beantwortet Fragen bisher nur auf Englisch. Bitte stellen Sie Ihre Frage "
    "auf Englisch: Die Antworten stammen aus den englischsprachigen Artikeln des OLEUS-Blogs.",
    "fr": "Désolé, askoleus ne répond pour l'instant qu'en anglais. Posez votre question en anglais : les "
    "réponses proviennent des articles du blog OLEUS, publiés en anglais.",
    "es": "Lo sentimos, por ahora askoleus solo responde en inglés. Escriba su pregunta en inglés: las respuestas "
    "proceden de los artículos del blog de OLEUS, publicados en inglés.",
    "it": "Ci dispiace, per ora askoleus risponde solo in inglese. Scriva la sua domanda in inglese: le risposte "
    "provengono dagli articoli del blog OLEUS, pubblicati in inglese.",
    "nl": "Sorry, askoleus beantwoordt vragen voorlopig alleen in het Engels. Stel uw vraag in het Engels: de "
    "antwoorden komen uit de Engelstalige artikelen van de OLEUS-blog.",
    "pt": "Lamentamos, por enquanto o askoleus só responde em inglês. Escreva a sua pergunta em inglês: as "
    "respostas vêm dos artigos do blog da OLEUS, publicados em inglês.",
}
RELATED = {
    "de": " Diese Artikel (auf Englisch) kommen Ihrer Frage am nächsten:",
    "fr": " Voici les articles (en anglais) les plus proches de votre question :",
    "es": " Estos son los artículos (en inglés) más cercanos a su pregunta:",
    "it": " Questi sono gli articoli (in inglese) più vicini alla sua domanda:",
    "nl": " Deze artikelen (in het Engels) sluiten het best aan bij uw vraag:",
    "pt": " Estes são os artigos (em inglês) mais próximos da sua pergunta:",
}

# Red flags per language: chest pain, fainting, breathlessness and a few more, with common inflections.
# Words spelled as in English (palpitations, convulsion, syncope) are left to the English list and its negation.
_RED_FLAGS = {
    "de": [
        r"brust\s?schmerz\w*",
        r"schmerz\w* (?:in|an|auf) der brust",
        r"(?:enge|engegefühl|druck|stechen)\w* (?:in|auf|an) der brust",
        r"brustenge",
        r"herzinfarkt\w*",
        r"ohnmacht\w*",
        r"ohnmächtig\w*",
        r"bewusstlos\w*",
        r"bewusstsein verloren",
        r"zusammengebrochen",
        r"kollabiert",
        r"umgekippt",
        r"atemnot",
        r"luftnot",
        r"kurzatmig\w*",
        r"atembeschwerden",
        r"(?:kann|konnte) (?:kaum |nicht (?:mehr )?)atmen",
        r"(?:bekomme?|kriege?|bekam|kriegte)\b[^.?!,]{0,25}\b(?:kaum|keine) luft",
        r"(?:kaum|keine) luft (?:mehr|bekommen|kriegen)",
        r"herzrasen",
        r"herzstolpern",
        r"blaue lippen",
        r"krampfanfall",
        r"schlaganfall",
    ],
    "fr": [
        r"douleurs? (?:à|a|dans) la poitrine",
        r"douleurs? thoraciques?",
        r"(?:mal|oppression|serrement|pression) (?:à|a|dans|sur) la poitrine",
        r"crise cardiaque",
        r"infarctus",
        r"[ée]vanou\w*",
        r"(?:perdu|perds|perte de) connaissance",
        r"(?:suis|est|me suis|s'est) effondr[ée]e?s?",
        r"(?:du )?mal à respirer",
        r"difficult[ée]s? (?:à|a) respirer",
        r"(?:ne )?(?:peux|peut|pouvais|arrive) (?:pas|plus) (?:à )?respirer",
        r"souffle court",
        r"manque d'air",
        r"dyspn[ée]e",
        r"l[èe]vres bleues",
        r"\bavc\b",
    ],
    "es": [
        r"dolor(?:es)? (?:en el|de|del) pecho",
        r"dolor(?:es)? tor[áa]cicos?",
        r"(?:opresi[óo]n|presi[óo]n) en el pecho",
        r"me duele el pecho",
        r"infarto",
        r"ataque al coraz[óo]n",
        r"desmay\w*",
        r"(?:perd[íi]|perdió|p[ée]rdida de)(?: el)? conocimiento",
        r"inconsciente",
        r"(?:me|se) desplom\w*",
        r"falta de aire",
        r"me falta el aire",
        r"(?:dificultad|problemas) para respirar",
        r"no (?:puedo|pod[íi]a|puede) respirar",
        r"me ahogo",
        r"disnea",
        r"palpitaciones",
        r"labios azules",
        r"convulsi[óo]n\w*",
    ],
    "it": [
        r"dolor[ei] (?:al|nel|sul) petto",
        r"dolore toracico",
        r"(?:oppressione|pressione|male) al petto",
        r"mi fa male il petto",
        r"infarto",
        r"attacco di cuore",
        r"svenut[oaie]",
        r"svenimento",
        r"svenire",
        r"svengo",
        r"svien[ei]",
        r"(?:perso|perdita di) (?:i sensi|conoscenza|coscienza)",
        r"collassat[oaie]",
        r"fiato corto",
        r"respiro corto",
        r"mancanza di (?:fiato|respiro|aria)",
        r"(?:difficoltà|fatica) a respirare",
        r"non riesco a respirare",
        r"dispnea",
        r"palpitazioni",
        r"labbra blu",
        r"convulsion\w+",
        r"\bictus\b",
    ],
    "nl": [
        r"pijn (?:op|in|aan) (?:de|mijn) borst",
        r"borstpijn",
        r"druk op (?:de|mijn) borst",
        r"beklemmend gevoel",
        r"hartaanval",
        r"flauw\s?(?:ge)?val\w*",
        r"flauw te vallen",
        r"(?:viel|val|vallen) flauw",
        r"bewusteloos",
        r"buiten bewustzijn",
        r"bewustzijn verloren",
        r"in elkaar gezakt",
        r"kortademig\w*",
        r"ademnood",
        r"benauwd\w*",
        r"(?:kan|kon) (?:bijna |nauwelijks |niet (?:meer )?)ademen",
        r"moeilijk ademen",
        r"ademhalingsproblemen",
        r"(?:krijg|kreeg) (?:geen|nauwelijks) lucht",
        r"hartkloppingen",
        r"blauwe lippen",
        r"beroerte",
        r"epileptische aanval",
    ],
    "pt": [
        r"dor(?:es)? no peito",
        r"dor(?:es)? tor[áa]cicas?",
        r"(?:aperto|press[ãa]o) no peito",
        r"enfarte",
        r"infarto",
        r"ataque card[íi]aco",
        r"desmai\w*",
        r"(?:perdi|perdeu|perda d[ae]) (?:os sentidos|a consci[êe]ncia|consci[êe]ncia)",
        r"inconsciente",
        r"falta de ar",
        r"falta-me o ar",
        r"(?:dificuldades?|problemas) (?:em|para|a) respirar",
        r"n[ãa]o consigo respirar",
        r"dispneia",
        r"palpita[çc][õo]es",
        r"l[áa]bios (?:azuis|roxos)",
        r"convuls\w+",
        r"\bavc\b",
    ],
}
# Negation cues per language ("keine Brustschmerzen", "pas de douleur", "sin dolor", "geen pijn").
_NEGATION = {
    "de": r"kein\w*|nicht|nie|niemals|ohne",
    "fr": r"pas|jamais|sans|aucune?|plus|ni",
    "es": r"no|sin|nunca|jam[áa]s|ning[úu]n|ninguna|ni",
    "it": r"non|senza|mai|nessun[oa]?|né",
    "nl": r"geen|niet|nooit|zonder",
    "pt": r"n[ãa]o|sem|nunca|jamais|nenhuma?|nem",
}
_RED_RE = {lang: re.compile("|".join(terms), re.IGNORECASE) for lang, terms in _RED_FLAGS.items()}
_NEG_RE = {lang: re.compile(cues, re.IGNORECASE) for lang, cues in _NEGATION.items()}
_WORDS = re.compile(r"\w+")


@cache
def _identifier() -> LanguageIdentifier:
    """py3langid's bundled model, restricted to English and the languages we reply in (loaded once)."""
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(["en", *SUPPORTED])
    return ident


def warm() -> None:
    """Load the detector now rather than on the first question (about a second)."""
    _identifier()


def detect_language(question: str, settings: Settings) -> str:
    """ISO 639-1 code of the question: one of SUPPORTED, or "en" (the default whenever in doubt)."""
    if len(_WORDS.findall(question)) < settings.language_min_words:
        return "en"
    probs = dict(_identifier().rank(question))
    if probs["en"] >= settings.language_max_english_probability:
        return "en"
    return max(SUPPORTED, key=lambda lang: probs[lang])


def red_flag_language(question: str, prefer: str) -> str | None:
    """The language whose red-flag terms the question contains (undenied); prefer is tried first."""
    text = question.replace("\u2019", "'")
    for lang in sorted(SUPPORTED, key=lambda lang: lang != prefer):
        if first_unnegated(_RED_RE[lang], text, _NEG_RE[lang]):
            return lang
    return None


def localized_route(question: str, settings: Settings) -> tuple[LocalRoute, str] | None:
    """For a question not in English (or naming a red flag in another language): the fixed reply and its language.

    None means: answer in English as usual.
    """
    lang = detect_language(question, settings)
    flagged = red_flag_language(question, lang)
    if flagged:
        return "emergency", flagged  # the terms' language; a term shared by two is read as the detected one
    if lang == "en":
        return None
    if route(question) == "emergency":  # an English red-flag term inside another language
        return "emergency", lang
    return "english_only", lang
