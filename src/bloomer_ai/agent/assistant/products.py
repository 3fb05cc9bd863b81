"""Matching a customer's product words against the shop's catalogue, across languages.

"rode rozen", "rote Rosen", "roses rouges" and "red roses" all ask for the same bunch.
Each word is brought to one form (English) through a small florist's vocabulary, on both
sides — the question and each product's name and description — and a product matches
when it has every one of the question's words. A word outside the vocabulary is compared
as written (a product's own name, "Amsterdam Mix").
"""

from __future__ import annotations

from collections.abc import Iterable

from bloomer_ai.agent.assistant.language import word_set, words_of

_VOCABULARY: dict[str, str] = {}
for _canonical, _forms in {
    "rose": "rose roses roos rozen rosen rosier rosiers",
    "red": "red rood rode rot rote roten roter rouge rouges",
    "white": "white wit witte weiß weiße weissen weisse weißen blanc blanche blanches blancs",
    "pink": "pink roze rosa",
    "yellow": "yellow geel gele gelb gelbe gelben jaune jaunes",
    "orange": "orange oranje",
    "purple": "purple paars paarse lila violet violette",
    "tulip": "tulip tulips tulp tulpen tulpe tulipe tulipes",
    "sunflower": "sunflower sunflowers zonnebloem zonnebloemen sonnenblume sonnenblumen"
    " tournesol tournesols",
    "orchid": "orchid orchids orchidee orchideeën orchideeen orchideen orchidée orchidées",
    "lily": "lily lilies lelie lelies lilie lilien lys",
    "peony": "peony peonies pioen pioenen pioenroos pioenrozen pfingstrose pfingstrosen"
    " pivoine pivoines",
    "bouquet": "bouquet bouquets boeket boeketten bos bossen strauß sträuße strauss"
    " blumenstrauß blumenstrauss",
    "flower": "flower flowers bloem bloemen blume blumen fleur fleurs",
    "plant": "plant plants planten pflanze pflanzen plante plantes",
    "wreath": "wreath wreaths krans kransen kranz kränze couronne couronnes",
    "funeral": "funeral funerals rouw rouwbloemen rouwstuk trauer trauerfloristik deuil"
    " funérailles obsèques",
    "wedding": "wedding bruiloft huwelijk hochzeit mariage",
    "vase": "vase vases vaas vazen",
    "card": "card cards kaart kaartje karte karten carte cartes",
    "chocolate": "chocolate chocolates chocolade chocolaatjes schokolade chocolat chocolats",
    "seasonal": "seasonal seizoen seizoensboeket saison saisonal saisonnier",
    "small": "small klein kleine petit petite",
    "large": "large big groot grote groß große grand grande",
}.items():
    for _form in _forms.split():
        _VOCABULARY[_form] = _canonical

# Words of a product question that say nothing about the product.
_FILLER = word_set(
    """
    a an the of some any and or with for me my i we our please also too very nice beautiful
    een de het van wat met voor mij me ik we ons graag ook mooie mooi ein eine einen der die
    das von mit für mir ich wir bitte auch schöne schön schönen un une des de du le la les
    avec pour moi je nous aussi joli jolie jolis jolies beau belle
    """
)


def canonical_words(text: str) -> set[str]:
    """The words of ``text`` in their one form, fillers left out."""
    result: set[str] = set()
    for word in words_of(text):
        word = word.strip("'-")
        if not word or word in _FILLER:
            continue
        result.add(_VOCABULARY.get(word, _singular(word)))
    return result


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def matching(
    question_words: Iterable[str], products: list[dict[str, object]]
) -> list[dict[str, object]]:
    """The products that have every meaningful word of the question (in name or
    description), best first: more of the question's words in the name."""
    wanted = canonical_words(" ".join(question_words)) - {"flower"}
    if not wanted:
        return []
    scored = []
    for product in products:
        name = canonical_words(str(product.get("name") or ""))
        described = name | canonical_words(str(product.get("description") or ""))
        if wanted <= described:
            scored.append((-len(wanted & name), str(product.get("name")), product))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [product for _, _, product in scored]
