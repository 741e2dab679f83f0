"""Language identification for short chat messages.

A naive-Bayes model over two kinds of evidence:
- whole words (function words, chat and restaurant vocabulary): the strong evidence;
- character 1-3-grams of words the vocabulary does not know (names, typos, rare words):
  weak evidence, capped per word, so a proper noun such as "Bastille" cannot swing a
  decision on its own.

`detect` returns `(language, confidence)` where confidence is the gap between the two most
probable languages' posteriors (0 = no idea, 1 = certain), shrunk when the message holds
little evidence (see EVIDENCE_SCALE). Messages without evidence
("ok", "4", "20h", "Bastille") get a low confidence, so the engine keeps the
conversation's language. The built-in profile (`LanguageDetector.default()`) is built
from embedded frequency-ranked word lists for English and French (no corpus needed);
`LanguageDetector.train` builds one from labelled texts, and `save`/`load` cache it as JSON.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

_TOKEN_RE: Final = re.compile(r"(?<!\d)[^\W\d_]+(?:'(?=[^\W\d_]))?(?!\d)")
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})

WORD_CAP: Final = 3.0
"""Largest log-likelihood ratio (nats) one known word can contribute."""
NGRAM_CAP: Final = 0.25
"""Largest log-likelihood ratio one unknown word can contribute through its character n-grams."""
UNKNOWN_WORD_WEIGHT: Final = 0.25
"""How much an unknown word counts as evidence, relative to a known word, for the confidence."""
EVIDENCE_SCALE: Final = 1.0
"""Confidence = posterior margin x (1 - exp(-evidence / EVIDENCE_SCALE)): one telling word
gives at most ~0.63, two ~0.86, three ~0.95. With the engine's switching threshold (0.8), a
lone "bonjour", "merci" or "Le Marais" does not flip the conversation language while
"ce soir", "next friday" or any real sentence does."""
_PRIOR_TOKENS: Final = 2000
_WORD_ALPHA: Final = 0.5
_NGRAM_ALPHA: Final = 0.5
_FORMAT_VERSION: Final = 1


def tokenize(text: str) -> list[str]:
    """Lower-cased words; French elisions keep their apostrophe ("j'", "l'"); no digits-glued units."""
    return _TOKEN_RE.findall(unicodedata.normalize("NFC", text).translate(_APOSTROPHES).lower())


def _ngrams(word: str) -> list[str]:
    padded = f"<{word}>"
    return [
        padded[i : i + n]
        for n in (1, 2, 3)
        for i in range(len(padded) - n + 1)
        if padded[i : i + n] not in "<>"
    ]


def strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


Counts = Mapping[str, float]
"""Frequencies of words (or character n-grams) in one source of one language."""


def _ngram_counts(words: Counts) -> dict[str, float]:
    """Character n-gram frequencies of a vocabulary (sqrt-damped so function words do not rule)."""
    grams: dict[str, float] = {}
    for word, count in words.items():
        weight = math.sqrt(count)
        for gram in _ngrams(word):
            grams[gram] = grams.get(gram, 0.0) + weight
    return grams


Source = tuple[Counts, float]
"""Frequencies and the weight of that source in its language's mixture."""


def _mixture(
    sources: Mapping[str, Sequence[Source]], alpha: float
) -> tuple[dict[str, tuple[float, ...]], tuple[float, ...]]:
    """Log-probabilities per language of every key, and of an unseen key.

    Each source is smoothed on its own (add-alpha over the shared vocabulary), then a
    language's sources are mixed by weight: the built-in word lists act as a prior that
    training sentences refine (see `LanguageDetector.train`), whatever their raw sizes.
    """
    languages = tuple(sources)
    vocabulary = sorted(set().union(*(c.keys() for parts in sources.values() for c, _ in parts)))
    size = len(vocabulary) + 1
    columns: list[list[float]] = []
    unseen: list[float] = []
    for lang in languages:
        mixed = [0.0] * len(vocabulary)
        lang_unseen = 0.0
        parts = [(c, w) for c, w in sources[lang] if c and w > 0] or [({}, 1.0)]
        total_weight = sum(w for _, w in parts)
        for counts, weight in parts:
            denominator = (sum(counts.values()) + alpha * size) * total_weight / weight
            for index, key in enumerate(vocabulary):
                mixed[index] += (counts.get(key, 0.0) + alpha) / denominator
            lang_unseen += alpha / denominator
        columns.append([math.log(p) for p in mixed])
        unseen.append(math.log(lang_unseen))
    table = {key: tuple(column[index] for column in columns) for index, key in enumerate(vocabulary)}
    return table, tuple(unseen)


class LanguageDetector:
    """Detects which of its languages a message is written in."""

    _default: ClassVar[LanguageDetector | None] = None

    def __init__(
        self,
        languages: tuple[str, ...],
        words: dict[str, tuple[float, ...]],
        ngrams: dict[str, tuple[float, ...]],
        ngram_unseen: tuple[float, ...],
    ) -> None:
        if len(languages) < 2:
            raise ValueError("a language detector needs at least two languages")
        self.languages = languages
        self._words = words
        self._ngrams = ngrams
        self._ngram_unseen = ngram_unseen

    # ---- building ----------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, counts: Mapping[str, Counts | Sequence[Source]]) -> LanguageDetector:
        """Build from word frequencies: {"en": {"the": 5000, ...}, "fr": [(counts, weight), ...]}.

        A language may have several weighted sources (e.g. the built-in lists and training
        texts); see `_mixture` for how they are combined.
        """
        sources = {
            lang: [(value, 1.0)] if isinstance(value, Mapping) else list(value)
            for lang, value in counts.items()
        }
        if len(sources) < 2:
            raise ValueError("a language detector needs at least two languages")
        words, _ = _mixture(sources, _WORD_ALPHA)
        gram_sources = {lang: [(_ngram_counts(c), w) for c, w in parts] for lang, parts in sources.items()}
        ngrams, ngram_unseen = _mixture(gram_sources, _NGRAM_ALPHA)
        return cls(tuple(sources), words, ngrams, ngram_unseen)

    @classmethod
    def train(cls, texts: Mapping[str, Iterable[str]], *, builtin: bool = True) -> LanguageDetector:
        """Build from labelled example texts: {"en": ["a table for two", ...], "fr": [...]}.

        With `builtin` (the default), English and French keep the built-in word lists as a
        prior: the texts' weight grows with their size (n tokens weigh n / (n + 2000) against
        the lists' 1), so twenty sentences nudge the profile and thousands reshape it. Other
        languages rely on their texts alone.
        """
        defaults = _default_counts() if builtin else {}
        sources: dict[str, list[Source]] = {}
        for lang, examples in texts.items():
            counter: Counter[str] = Counter()
            for text in examples:
                counter.update(tokenize(text))
            tokens = sum(counter.values())
            if lang in defaults:
                sources[lang] = [(defaults[lang], 1.0), (dict(counter), tokens / (tokens + _PRIOR_TOKENS))]
            else:
                sources[lang] = [(dict(counter), 1.0)]
        return cls.from_counts(sources)

    @classmethod
    def default(cls) -> LanguageDetector:
        """The built-in English/French profile (built once per process, in tens of ms)."""
        if cls._default is None:
            cls._default = cls.from_counts(_default_counts())
        return cls._default

    # ---- detection ---------------------------------------------------------------------------
    def _evidence(self, text: str) -> tuple[list[float], float]:
        """(log-likelihood per language, amount of evidence in known-word units)."""
        k = len(self.languages)
        totals = [0.0] * k
        amount = 0.0
        words, ngrams, unseen = self._words, self._ngrams, self._ngram_unseen
        for token in tokenize(text):
            scores = words.get(token)
            if scores is None and "'" not in token:
                scores = words.get(strip_accents(token)) if not token.isascii() else None
            if scores is not None:
                cap, weight = WORD_CAP, 1.0
            else:
                grams = _ngrams(token.rstrip("'"))
                acc = [0.0] * k
                for gram in grams:
                    row = ngrams.get(gram, unseen)
                    for i in range(k):
                        acc[i] += row[i]
                scores = tuple(a / max(len(grams), 1) * 2.0 for a in acc)
                cap, weight = NGRAM_CAP, UNKNOWN_WORD_WEIGHT
            mean = sum(scores) / k
            strongest = 0.0
            for i in range(k):
                contribution = max(-cap, min(cap, scores[i] - mean))
                totals[i] += contribution
                strongest = max(strongest, abs(contribution))
            amount += weight * min(1.0, strongest / min(cap, 1.0))  # "ok" is a word but no evidence
        return totals, amount

    @staticmethod
    def _posterior(totals: list[float]) -> list[float]:
        top = max(totals)
        exps = [math.exp(t - top) for t in totals]
        norm = sum(exps)
        return [e / norm for e in exps]

    def scores(self, text: str) -> dict[str, float]:
        """Posterior probability of each language (uniform prior)."""
        totals, _ = self._evidence(text)
        return dict(zip(self.languages, self._posterior(totals), strict=True))

    def detect(self, text: str) -> tuple[str, float]:
        """(most likely language, confidence in [0, 1]); (first language, 0.0) without evidence.

        The confidence is the margin between the two most probable languages, shrunk by how
        much evidence the message holds (see EVIDENCE_SCALE).
        """
        totals, amount = self._evidence(text)
        posterior = self._posterior(totals)
        order = sorted(range(len(posterior)), key=lambda i: -posterior[i])
        margin = posterior[order[0]] - posterior[order[1]]
        if margin < 1e-9 or amount == 0.0:
            return self.languages[0], 0.0
        confidence = margin * (1.0 - math.exp(-amount / EVIDENCE_SCALE))
        return self.languages[order[0]], round(confidence, 6)

    # ---- persistence -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def table(rows: Mapping[str, tuple[float, ...]]) -> dict[str, list[float]]:
            return {key: [round(v, 4) for v in row] for key, row in rows.items()}

        return {
            "format": "plaza.language-detector",
            "version": _FORMAT_VERSION,
            "languages": list(self.languages),
            "words": table(self._words),
            "ngrams": table(self._ngrams),
            "ngram_unseen": [round(v, 4) for v in self._ngram_unseen],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LanguageDetector:
        if data.get("format") != "plaza.language-detector" or data.get("version") != _FORMAT_VERSION:
            raise ValueError("not a plaza language-detector profile (or an incompatible version)")
        return cls(
            tuple(data["languages"]),
            {k: tuple(v) for k, v in data["words"].items()},
            {k: tuple(v) for k, v in data["ngrams"].items()},
            tuple(data["ngram_unseen"]),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")), "utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LanguageDetector:
        return cls.from_json(json.loads(Path(path).read_text("utf-8")))


# ---- built-in profile ---------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


# Words in rough frequency order for chat about restaurants, shops and bookings; the rank gives
# a Zipf-like count. Words shared by both languages ("ok", "menu", "pizza", "restaurant") appear
# in both lists and therefore carry little evidence, which is the point.

_EN_WORDS: Final = _words(
    """
i you the to a and it is for me my we can please do have of in that this what at on be are table
would like want book thanks thank no yes not just so with your will get hi hello hey how there
an or if but was know about all one tonight tomorrow today people time need could good great
sure ok okay up out go from our us they he she them some any when where which who why make see
here also more much very well then than too let i'm it's don't can't i'd we'd what's that's
there's isn't doesn't didn't won't i'll we'll you're we're they're am been had has did does were
his her their its these those other after before over into only again still because something
anything nothing way day evening night morning afternoon dinner lunch breakfast reservation
reserve booking restaurant menu food order delivery price cost pay card cash free available open
close closed near nearby place address phone number name email sorry cancel change move confirm
check two three four five six seven eight nine ten first next last friday saturday sunday monday
tuesday wednesday thursday week weekend month year hour minute minutes hours around about maybe
really thing things should might must may party guests seats outside inside terrace window
vegetarian vegan gluten allergy kids children wine beer drinks dessert starter main italian
french chinese japanese indian thai mexican pizza burger sushi steak fish chicken salad coffee
tea bill tip receipt table for two please cheers bye goodbye welcome awesome perfect fine cool
nice love best right left street avenue square station downtown center centre city town area
district tell show find looking look want wanna gonna got get give take bring send call text
message help question answer wait late early soon already yet ever never always often usually
every each both either neither few many most own same such while until since during without
within along across behind below above
"""
)

_FR_WORDS: Final = _words(
    """
de je la le et les à un une pour des est en pas que vous du ne on nous ce qui au dans c' d' l'
j' qu' n' s' m' sur avec plus mais par se a tout son elle moi oui non merci bonjour bonsoir
salut bien très faire être avoir peut veux voudrais voudrions aimerais souhaite souhaiterais
pouvez pourriez pourrais ça cela ici là quand comment pourquoi où quel quelle quels quelles
combien mon ma mes ton ta tes votre vos notre nos leur leurs y aussi encore déjà demain aujourd'
hui soir cette cet ces ceux celle deux trois quatre cinq six sept huit neuf dix heure heures
minutes table réserver réservation restaurant menu commander commande livraison prix payer carte
espèces ouvert fermé près adresse numéro téléphone nom il plaît svp désolé annuler changer
modifier confirmer personnes personne dîner déjeuner midi matin après-midi semaine week-end
lundi mardi mercredi jeudi vendredi samedi dimanche prochain prochaine dernier avant après vers
entre chez sans sous alors donc puis comme si fait faut va vais allons serons sommes suis es
êtes sont était été avez avons ai as ont peux pouvons veut voulons voulez rien tous toutes autre
beaucoup peu trop juste vraiment accord ok super parfait génial possible disponible place places
chose terrasse intérieur extérieur fenêtre végétarien végétarienne allergie enfants vin bière
boissons dessert entrée plat italien italienne français française chinois japonais indien thaï
mexicain pizza burger sushi steak poisson poulet salade café thé addition pourboire reçu au
revoir bienvenue parfait ok cool rue avenue place gare centre ville quartier arrondissement dis
montre trouve cherche regarde envie donne prends apporte envoie appelle message aide question
réponse attends tard tôt bientôt toujours jamais souvent chaque quelques plusieurs même pendant
jusqu' depuis il ils elles lui leur eux été nouveau nouvelle petit petite grand grande bon bonne
"""
)


@functools.cache
def common_words() -> frozenset[str]:
    """Frequent English and French words, accents stripped (for callers that need a stop list)."""
    return frozenset(strip_accents(w).rstrip("'") for w in (*_EN_WORDS, *_FR_WORDS))


_NEUTRAL_WORDS: Final = _words(
    """
ok okay pizza menu restaurant super cool burger sushi steak parking taxi hotel bar brunch wifi
email sandwich croissant cafe café bistro brasserie chef dessert table place minutes six vegan
ciao top
"""
)
"""Spelled the same and common in both languages: no evidence either way."""


def _default_counts() -> dict[str, dict[str, float]]:
    def zipf(words: list[str], *, accents_optional: bool) -> dict[str, float]:
        counts: dict[str, float] = {}
        for rank, word in enumerate(words):
            count = 1e5 / (rank + 10)
            counts.setdefault(word, count)
            plain = strip_accents(word)
            if accents_optional and plain != word:
                counts.setdefault(plain, count * 0.3)  # "a demain", "reserver": accents often omitted
        return counts

    en, fr = zipf(_EN_WORDS, accents_optional=False), zipf(_FR_WORDS, accents_optional=True)
    for word in _NEUTRAL_WORDS:
        en[word] = fr[word] = max(en.get(word, 0.0), fr.get(word, 0.0), 1e5 / 200)
    return {"en": en, "fr": fr}
