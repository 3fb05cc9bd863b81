"""Which of the four languages the offline assistant speaks a message is written in.

A message counts as English, Dutch, German or French when its words say so clearly: each
language has words that are common in a shop customer's questions and rare in the other
three. A message with no such word, or as many of one language's as of another's ("open
hallo"), is not clear, and the shop's configured language is used.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "nl", "de", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "nl", "de", "fr")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


# Words that mark a language in a florist customer's message. A word shared by two of the
# languages ("open", "roses", "morgen", "is") is in neither list.
_MARKERS: dict[Language, frozenset[str]] = {
    "en": word_set(
        """
        the you your are do does did what when where which how much many can could would
        will have has there this that these those my our we i'm it's is it please thanks
        thank hello hi hey good morning afternoon evening tomorrow today tonight now
        deliver delivery delivering cost costs price fee opening hours closed order ordered
        sunday monday tuesday wednesday thursday friday saturday christmas easter new year
        any some red white pink yellow flowers bouquet bunch still yet about and what's
        help wait arrive arrives
        """
    ),
    "nl": word_set(
        """
        jullie je jij u uw zijn zijn is het een wat wanneer waar hoe laat hoeveel kan kunnen
        kunt heb hebben hebt mijn onze ik we wij graag bedankt dankjewel dankuwel
        hoi goedemorgen goedemiddag goedenavond vandaag morgen overmorgen vanavond
        vanmiddag nu bezorgen bezorgt bezorging bezorgkosten leveren levert kost kosten
        prijs openingstijden gesloten dicht bestelling besteld zondag maandag dinsdag
        woensdag donderdag vrijdag zaterdag kerst kerstmis pasen nieuwjaar nog ook
        rode witte roze gele bloemen boeket bos welke wel niet geen er over en ook
        met voor op deze dit dat helpen wanneer komt
        """
    ),
    "de": word_set(
        """
        sie ihr ihre ihnen habt haben hat ist sind wann wo wie viel viele was welche
        können könnt kann ich wir meine meiner unsere bitte danke dankeschön vielen
        guten morgen tag abend heute morgen übermorgen heute jetzt nachmittag abends
        liefern liefert lieferung lieferkosten kostet kosten preis geöffnet offen
        öffnungszeiten geschlossen bestellung bestellt sonntag montag dienstag mittwoch
        donnerstag freitag samstag weihnachten ostern neujahr noch auch rote weiße rosa
        gelbe blumen strauß blumenstrauß gibt es der die das und mit für am um bis
        helfen kommt
        """
    ),
    "fr": word_set(
        """
        vous votre vos êtes est sont quand où comment combien quel quelle quels quelles
        pouvez peut puis je nous ma mon mes notre merci bonjour bonsoir salut demain
        aujourd'hui aujourd ce soir maintenant après-midi livrez livrer livraison
        livraisons coûte coûtent prix frais ouvert ouverte ouverts horaires fermé fermée
        fermés commande commandé dimanche lundi mardi mercredi jeudi vendredi samedi noël
        pâques jour an encore aussi rouges blanches roses jaunes fleurs bouquet avez
        avez-vous y a-t-il le la les des du et pour avec au aux aider arrive à très
        voudrais aimerais souhaite souhaiterais parler fleuriste beaucoup
        """
    ),
}
# A word in two lists says nothing: drop it from both.
_SHARED = {
    word
    for language, words in _MARKERS.items()
    for other, other_words in _MARKERS.items()
    if language < other
    for word in words & other_words
}
MARKERS: dict[Language, frozenset[str]] = {
    language: words - _SHARED for language, words in _MARKERS.items()
}

_FRENCH_ELISIONS = frozenset(
    {"c", "l", "d", "j", "qu", "n", "s", "m", "t", "quelqu", "jusqu", "lorsqu", "puisqu"}
)
_WORD_RE = re.compile(r"[a-zà-ÿß'’-]+")


def words_of(text: str) -> list[str]:
    """The message's words, lower case, apostrophes straightened."""
    return _WORD_RE.findall(text.casefold().replace("’", "'"))


def detect_language(text: str, default: Language) -> Language:
    """The language ``text`` is clearly written in, else ``default``."""
    counts = dict.fromkeys(LANGUAGES, 0)
    for word in words_of(text):
        for language in LANGUAGES:
            if word in MARKERS[language]:
                counts[language] += 1
        if "'" in word and word.split("'")[0] in _FRENCH_ELISIONS:
            counts["fr"] += 1  # c'est, l'heure, qu'est-ce, j'ai, d'ouverture
    ranked = sorted(LANGUAGES, key=lambda language: counts[language], reverse=True)
    best, second = ranked[0], ranked[1]
    if counts[best] == 0 or counts[best] == counts[second]:
        return default
    return best


def configured_language(tag: str) -> Language:
    """The shop's configured BCP 47 tag (``de-CH``) as one of the four; English otherwise."""
    primary = tag.split("-")[0].casefold()
    for language in LANGUAGES:
        if primary == language:
            return language
    return "en"
