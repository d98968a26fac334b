"""What customers talk about: named comment themes that hold across en, nb, da and sv.

A comment is split into words and each word is stemmed with the Snowball stemmer of
every language (a comment may mix them: "pakken came 4 days late"), so "dager",
"leveransen" and "pakken" meet the cues "dag", "leverans" and "pakk" of the lexicon
core/lexicons/themes.json. A theme is named by one of its 'alone' cues, or by a 'topic'
cue (what: parcel, invoice, support) together with an 'aspect' cue (how: late, wrong,
friendly); positive themes ignore cues right after a negation ("not easy to use").

Everything here is offline and deterministic: the same comments give the same themes,
counts, quotes and effects every time. `benchmarks/themes.py` measures the assignment
against the labelled comments in tests/data.

The effect of a theme on the NPS change is its part in core.drivers' shift-share
decomposition with two groups, the answers naming the theme and all the others: the
theme's own score moving (rate) plus its answers' share moving (mix), in NPS points.
A theme whose answers pull NPS down and grow in number explains a fall. The sample of
comments may be a part of the period's commented answers (the digest reads a bounded
sample); `scale` turns sample counts into answers.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import snowballstemmer

from core import metrics as m
from core.locales import LOCALES
from core.text import LEXICON_DIR, detect_language, redact, words

if TYPE_CHECKING:
    import pandas as pd


def N_(msgid: str) -> str:
    """Marks a theme name for the message catalog; views translate it when shown."""
    return msgid


@dataclass(frozen=True)
class ThemeDef:
    key: str
    name: str  # English msgid
    category: str  # the insight category it belongs to (core.analyzer.CATEGORIES)
    polarity: str  # negative, neutral or positive


THEMES: tuple[ThemeDef, ...] = (
    ThemeDef("late_delivery", N_("late delivery"), "delivery", "negative"),
    ThemeDef("damaged_delivery", N_("damaged or missing items"), "delivery", "negative"),
    ThemeDef("fast_delivery", N_("fast delivery"), "delivery", "positive"),
    ThemeDef("support_wait", N_("slow customer service"), "service", "negative"),
    ThemeDef("unhelpful_support", N_("unhelpful customer service"), "service", "negative"),
    ThemeDef("friendly_support", N_("friendly customer service"), "service", "positive"),
    ThemeDef("invoice_errors", N_("invoice errors"), "price", "negative"),
    ThemeDef("high_prices", N_("high prices"), "price", "negative"),
    ThemeDef("site_errors", N_("web shop and app errors"), "usability", "negative"),
    ThemeDef("easy_to_use", N_("easy to use"), "usability", "positive"),
    ThemeDef("product_faults", N_("faulty products"), "product", "negative"),
    ThemeDef("good_quality", N_("good product quality"), "product", "positive"),
    ThemeDef("confusing_setup", N_("confusing setup"), "usability", "negative"),
    ThemeDef("poor_information", N_("poor information"), "communication", "negative"),
)
BY_KEY: dict[str, ThemeDef] = {t.key: t for t in THEMES}
KEYS: tuple[str, ...] = tuple(BY_KEY)

# Quotes are shown only for a theme at least this many comments name, so no one
# customer's words stand out (the pulse surveys' anonymity threshold is the same).
QUOTES_FROM = 5
QUOTES_MAX = 3
QUOTE_CHARS = 200
# Words after a negation within this distance do not count for a positive theme.
NEGATION_REACH = 3
# A theme is named as a reason for a change only when it explains at least this share
# of it (and at least EFFECT_MIN points): smaller effects are noise in a sample.
EFFECT_SHARE = 0.1
EFFECT_MIN = 1.0

_STEMMERS = {"en": "english", "nb": "norwegian", "da": "danish", "sv": "swedish"}
_NEGATORS: frozenset[str] = frozenset(
    {
        *("not", "no", "never", "don't", "didn't", "doesn't", "isn't", "wasn't", "aren't"),
        *("weren't", "couldn't", "can't", "cant", "dont", "didnt", "doesnt", "isnt", "wasnt"),
        *("hardly", "nothing", "ikke", "ikkje", "ik", "ingen", "aldri", "aldrig", "inte"),
        *("ej", "verken", "hverken", "varken", "knappast"),
    }
)


# --------------------------------------------------------------------------- stemming


@cache
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(_STEMMERS[language])


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    """`word` (lower case) stemmed by the Snowball stemmer of `language`."""
    return str(_stemmer(language).stemWord(word))


def normalise(text: str, language: str | None = None) -> list[str]:
    """The words of `text` as stems of its language (detected when not given)."""
    lang = language or detect_language(text)
    return [stem(w, lang) for w in words(text)]


# --------------------------------------------------------------------------- lexicon


@dataclass(frozen=True)
class _Part:
    kind: str  # stem, raw, prefix, suffix
    value: str

    def matches(self, raw: str, stemmed: str) -> bool:
        if self.kind == "stem":
            return stemmed == self.value
        if self.kind == "raw":
            return raw == self.value
        if self.kind == "prefix":
            return raw.startswith(self.value)
        return stemmed.endswith(self.value)


# A stem this short says little ("varen" and "var" both stem to "var" in Norwegian):
# such a cue is compared by its exact form instead.
MIN_STEM = 4


def _part(token: str, language: str) -> _Part:
    token = token.lower()
    if token.startswith("="):
        return _Part("raw", token[1:])
    if token.endswith("*"):
        return _Part("prefix", token[:-1])
    if token.startswith("*"):
        return _Part("suffix", stem(token[1:], language))
    stemmed = stem(token, language)
    return _Part("stem", stemmed) if len(stemmed) >= MIN_STEM else _Part("raw", token)


@dataclass(frozen=True)
class _Cue:
    theme: str
    group: str  # alone, topic, aspect, unless
    text: str
    parts: tuple[_Part, ...]


GROUPS = ("alone", "topic", "aspect", "unless")


@dataclass
class _Index:
    """One language's cues by what their first word must be, so a comment's words are
    looked up rather than compared with every cue."""

    stem: dict[str, list[_Cue]] = field(default_factory=dict)
    raw: dict[str, list[_Cue]] = field(default_factory=dict)
    prefix: dict[str, list[_Cue]] = field(default_factory=dict)
    suffix: dict[str, list[_Cue]] = field(default_factory=dict)

    def add(self, cue: _Cue) -> None:
        first = cue.parts[0]
        getattr(self, first.kind).setdefault(first.value, []).append(cue)

    def starting(self, raw: str, stemmed: str) -> list[_Cue]:
        found = [*self.stem.get(stemmed, ()), *self.raw.get(raw, ())]
        for k in range(1, len(raw) + 1):
            found += self.prefix.get(raw[:k], ())
        for k in range(len(stemmed)):
            found += self.suffix.get(stemmed[k:], ())
        return found


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, _Index]:
    with (LEXICON_DIR / "themes.json").open(encoding="utf-8") as fh:
        table = json.load(fh)
    table.pop("_about", None)
    unknown = set(table) - set(BY_KEY)
    if unknown:
        raise ValueError(f"themes.json names unknown themes: {', '.join(sorted(unknown))}")
    index = {lang: _Index() for lang in LOCALES}
    for key, entry in table.items():
        for lang, groups in entry["cues"].items():
            for group in GROUPS:
                for item in groups.get(group, ()):
                    tokens = [t for t in item.replace("’", "'").split() if t]
                    if tokens:
                        parts = tuple(_part(t, lang) for t in tokens)
                        index[lang].add(_Cue(key, group, item, parts))
    return index


@dataclass(frozen=True)
class _Tokens:
    raw: tuple[str, ...]
    stems: dict[str, tuple[str, ...]]  # language -> stems
    negated: frozenset[int]  # positions right after a negation


def _tokens(text: str) -> _Tokens:
    raw = tuple(words(text))
    stems = {lang: tuple(stem(w, lang) for w in raw) for lang in LOCALES}
    negated = {
        j
        for i, w in enumerate(raw)
        if w in _NEGATORS or w.endswith("n't")
        for j in range(i + 1, min(len(raw), i + 1 + NEGATION_REACH))
    }
    return _Tokens(raw, stems, frozenset(negated))


def _cue_hits(tokens: _Tokens) -> list[tuple[_Cue, int]]:
    """Every cue found in the tokens, with the position where it starts."""
    hits: list[tuple[_Cue, int]] = []
    raw = tokens.raw
    for lang, index in _lexicon().items():
        stems = tokens.stems[lang]
        for i, word in enumerate(raw):
            for cue in index.starting(word, stems[i]):
                rest = cue.parts[1:]
                if i + len(rest) < len(raw) and all(
                    p.matches(raw[i + 1 + k], stems[i + 1 + k]) for k, p in enumerate(rest)
                ):
                    hits.append((cue, i))
    return hits


def _scores(tokens: _Tokens) -> dict[str, int]:
    """Cue hits per theme named in the tokens (a theme not named is left out)."""
    counts: dict[str, Counter[str]] = {}
    seen: set[tuple[str, str, int]] = set()
    for cue, at in _cue_hits(tokens):
        positive = BY_KEY[cue.theme].polarity == "positive"
        if positive and cue.group != "unless" and at in tokens.negated:
            continue
        # The same words found through two languages' lists count once.
        mark = (cue.theme, cue.group, at)
        if mark in seen:
            continue
        seen.add(mark)
        counts.setdefault(cue.theme, Counter())[cue.group] += 1
    scores: dict[str, int] = {}
    for key, c in counts.items():
        if c["unless"]:
            continue
        paired = c["topic"] + c["aspect"] if c["topic"] and c["aspect"] else 0
        if c["alone"] or paired:
            scores[key] = c["alone"] + paired
    return scores


@lru_cache(maxsize=50_000)
def _assigned(text: str) -> tuple[tuple[str, int], ...]:
    tokens = _tokens(text)
    if not tokens.raw:
        return ()
    found = list(_scores(tokens).items())
    found.sort(key=lambda ks: (-ks[1], KEYS.index(ks[0])))
    return tuple(found)


def assign(text: str) -> tuple[str, ...]:
    """The themes `text` names, strongest first (most cue hits, then lexicon order)."""
    return tuple(key for key, _ in _assigned(text or ""))


def primary(text: str) -> str | None:
    """The strongest theme of `text`, or None."""
    found = assign(text)
    return found[0] if found else None


def name(key: str) -> str:
    """The English name (a message id) of theme `key`; an unknown key is its own name."""
    theme = BY_KEY.get(key)
    return theme.name if theme else key


def theme_counts(texts: Sequence[str], top: int = 5) -> list[tuple[str, int]]:
    """(theme name, comments naming it) for the `top` most named themes, most first.

    The names are English message ids; what shows them translates them."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(assign(text)))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], KEYS.index(kv[0])))
    return [(BY_KEY[k].name, n) for k, n in ranked[: max(0, top)]]


# --------------------------------------------------------------------------- a period


@dataclass(frozen=True)
class Comment:
    """A commented answer: its text and, when known, the metric and score it came with."""

    text: str
    metric: str | None = None
    score: int | None = None


@dataclass(frozen=True)
class NpsTally:
    """A period's NPS answers: how many, and the sum of +100/0/-100 per answer."""

    n: int
    total: float

    @property
    def score(self) -> float | None:
        return self.total / self.n if self.n else None

    @classmethod
    def of(cls, promoters: int, passives: int, detractors: int) -> NpsTally:
        return cls(promoters + passives + detractors, 100.0 * (promoters - detractors))

    @classmethod
    def from_scores(cls, counts: Mapping[int, int]) -> NpsTally:
        """From answers per score 0-10 (`core.metrics.counts_by_metric(...)["nps"]`)."""
        result = m.nps(counts)
        return cls.of(result.promoters, result.passives, result.detractors)


def _nps_value(score: int) -> float:
    # One answer's part of NPS, with core.metrics' promoter and passive bounds.
    if score >= m.PROMOTER_THRESHOLDS["nps"]:
        return 100.0
    return 0.0 if score >= m.NPS_PASSIVE_MIN else -100.0


@dataclass(frozen=True)
class ThemeStat:
    """One theme in one period (counts are of comments in the sample)."""

    key: str
    name: str  # English msgid
    category: str
    polarity: str
    count: int
    before: int  # comments naming it in the previous period
    share: float  # percent of the period's comments
    share_before: float
    sentiment: str  # the most common sentiment of its comments
    sentiments: dict[str, int]
    nps: float | None  # NPS of the NPS answers naming it
    nps_n: int
    nps_before: float | None
    effect: float | None  # NPS points of the period's change that came from these answers
    quotes: tuple[str, ...]  # redacted; only from QUOTES_FROM comments
    summary: str | None = None  # a language model's, checked against the numbers
    # Redacted comments for a model's summary (never shown), only from QUOTES_FROM too.
    examples: tuple[str, ...] = ()

    @property
    def change(self) -> int:
        return self.count - self.before


@dataclass(frozen=True)
class ThemeReport:
    """The themes of a period's comments compared with the period before."""

    comments: int
    comments_before: int
    themes: list[ThemeStat]  # most named first
    nps_change: float | None  # the period's whole NPS change (all answers)
    nps_before: float | None = None  # the previous period's NPS (all answers)
    summaries_source: str = "offline"  # "model" when any summary is the model's
    notes: list[str] = field(default_factory=list)

    def top(self, n: int = 5) -> list[ThemeStat]:
        return [t for t in self.themes if t.count > 0][:n]

    def behind_change(self, n: int = 3) -> list[ThemeStat]:
        """The themes that pushed NPS the way it moved, largest effect first: for a fall,
        themes whose answers score below the previous NPS (fewer people praising
        something also lowers NPS, but that is not what customers complain about)."""
        change, before = self.nps_change, self.nps_before
        if not change or before is None:
            return []
        floor = max(EFFECT_MIN, EFFECT_SHARE * abs(change))
        pushed = [
            t
            for t in self.themes
            if t.effect is not None
            and t.effect * change > 0
            and abs(t.effect) >= floor
            and t.nps is not None
            and (t.nps - before) * change > 0
        ]
        pushed.sort(key=lambda t: (-abs(t.effect or 0.0), KEYS.index(t.key)))
        return pushed[:n]

    def stat(self, key: str) -> ThemeStat | None:
        return next((t for t in self.themes if t.key == key), None)

    def with_summaries(self, summaries: Mapping[str, str], source: str) -> ThemeReport:
        themes = [
            dataclasses.replace(t, summary=summaries.get(t.key, t.summary)) for t in self.themes
        ]
        return ThemeReport(
            self.comments,
            self.comments_before,
            themes,
            self.nps_change,
            self.nps_before,
            source if summaries else self.summaries_source,
            list(self.notes),
        )


@lru_cache(maxsize=50_000)
def _sentiment(text: str) -> str:
    from core.analyzer import sentiment_and_impact

    return sentiment_and_impact(text)[0]


def _quotes(texts: Sequence[str], theme: ThemeDef) -> tuple[str, ...]:
    """Two or three short, clear comments naming the theme, in different languages where
    possible; redacted. Deterministic: ranked by cue hits, then closeness to a tweet's
    length, then text."""
    if len(texts) < QUOTES_FROM:
        return ()
    wanted = {"negative": "negative", "positive": "positive"}.get(theme.polarity)
    ranked = []
    for text in dict.fromkeys(" ".join(t.split()) for t in texts):
        if not 12 <= len(text) <= QUOTE_CHARS:
            continue
        if wanted and _sentiment(text) != wanted:
            continue
        strength = dict(_assigned(text)).get(theme.key, 0)
        ranked.append((-strength, abs(len(text) - 80), text))
    ranked.sort()
    chosen: list[str] = []
    languages: set[str] = set()
    for _, _, text in ranked:
        lang = detect_language(text)
        if lang in languages and len(ranked) > QUOTES_MAX:
            continue
        chosen.append(redact(text))
        languages.add(lang)
        if len(chosen) == QUOTES_MAX:
            break
    for _, _, text in ranked:  # too few languages: fill with the next best
        if len(chosen) == QUOTES_MAX:
            break
        if redact(text) not in chosen:
            chosen.append(redact(text))
    return tuple(chosen)


def _examples(texts: Sequence[str], limit: int = 20) -> tuple[str, ...]:
    if len(texts) < QUOTES_FROM:
        return ()
    distinct = sorted(dict.fromkeys(" ".join(t.split()) for t in texts), key=lambda t: (len(t), t))
    return tuple(redact(t) for t in distinct[:limit])


def _contribution(
    now: NpsTally, before: NpsTally, n1: float, s1: float, n0: float, s0: float
) -> float | None:
    """The theme group's part of the NPS change (core.drivers' symmetric shift-share with
    the groups "names the theme" and "does not"): rate + mix, in NPS points."""
    m1, m0 = now.score, before.score
    if m1 is None or m0 is None:
        return None
    w1, w0 = min(1.0, n1 / now.n), min(1.0, n0 / before.n)
    t1 = s1 / n1 if n1 else None
    t0 = s0 / n0 if n0 else None
    reference = (m0 + m1) / 2
    if t1 is not None and t0 is not None:
        return (w0 + w1) / 2 * (t1 - t0) + ((t0 + t1) / 2 - reference) * (w1 - w0)
    known = t1 if t1 is not None else t0
    return 0.0 if known is None else (known - reference) * (w1 - w0)


def analyse(
    now: Sequence[Comment],
    before: Sequence[Comment] = (),
    *,
    nps_now: NpsTally | None = None,
    nps_before: NpsTally | None = None,
    scale_now: float = 1.0,
    scale_before: float = 1.0,
) -> ThemeReport:
    """Themes of the comments `now` against those `before`.

    `nps_*` are the periods' whole NPS answers (all answers, with or without a comment);
    `scale_*` how many commented answers each sampled comment stands for (1 when the
    sample is all of them). Without the tallies the effects are None.
    """
    keys_now = [assign(c.text) for c in now]
    keys_before = [assign(c.text) for c in before]
    counts_now = Counter(k for ks in keys_now for k in set(ks))
    counts_before = Counter(k for ks in keys_before for k in set(ks))

    def nps_of(comments: Sequence[Comment], keys: list[tuple[str, ...]], key: str):
        values = [
            _nps_value(int(c.score))
            for c, ks in zip(comments, keys, strict=True)
            if key in ks and c.metric == "nps" and c.score is not None
        ]
        return len(values), math.fsum(values)

    change = None
    if nps_now is not None and nps_before is not None:
        now_score, before_score = nps_now.score, nps_before.score
        if now_score is not None and before_score is not None:
            change = now_score - before_score

    stats: list[ThemeStat] = []
    for key in KEYS:
        count, count_before = counts_now.get(key, 0), counts_before.get(key, 0)
        if not count and not count_before:
            continue
        theme = BY_KEY[key]
        texts = [c.text for c, ks in zip(now, keys_now, strict=True) if key in ks]
        sentiments = Counter(_sentiment(t) for t in texts)
        n1, s1 = nps_of(now, keys_now, key)
        n0, s0 = nps_of(before, keys_before, key)
        effect = None
        if change is not None and nps_now is not None and nps_before is not None:
            effect = _contribution(
                nps_now,
                nps_before,
                n1 * scale_now,
                s1 * scale_now,
                n0 * scale_before,
                s0 * scale_before,
            )
        stats.append(
            ThemeStat(
                key=key,
                name=theme.name,
                category=theme.category,
                polarity=theme.polarity,
                count=count,
                before=count_before,
                share=100.0 * count / len(now) if now else 0.0,
                share_before=100.0 * count_before / len(before) if before else 0.0,
                sentiment=_majority(sentiments, theme.polarity),
                sentiments={s: sentiments.get(s, 0) for s in ("negative", "neutral", "positive")},
                nps=s1 / n1 if n1 else None,
                nps_n=n1,
                nps_before=s0 / n0 if n0 else None,
                effect=effect,
                quotes=_quotes(texts, theme),
                examples=_examples(texts),
            )
        )
    stats.sort(key=lambda t: (-t.count, -t.before, KEYS.index(t.key)))
    return ThemeReport(
        len(now), len(before), stats, change, nps_before.score if nps_before else None
    )


def analyse_period(
    counts_now: pd.DataFrame,
    counts_before: pd.DataFrame,
    comments_now: Sequence[Comment],
    comments_before: Sequence[Comment] = (),
    scale: tuple[float, float] = (1.0, 1.0),
) -> ThemeReport:
    """`analyse` of two periods' comments, with their NPS tallies taken from the periods'
    answer counts (metric, score, n frames): what the digest, `/cx themes`, the App Home
    and the insight cards all read."""
    now, before = (
        NpsTally.from_scores(m.counts_by_metric(f)["nps"]) for f in (counts_now, counts_before)
    )
    return analyse(
        comments_now,
        comments_before,
        nps_now=now,
        nps_before=before,
        scale_now=scale[0],
        scale_before=scale[1],
    )


def _majority(counts: Counter[str], polarity: str) -> str:
    if not counts:
        return polarity if polarity != "neutral" else "neutral"
    order = ("negative", "neutral", "positive")
    return max(order, key=lambda s: (counts.get(s, 0), s == polarity))


def linked(text: str, report: ThemeReport | None) -> list[ThemeStat]:
    """The report's themes that `text` (an insight) names: how many customers said it too."""
    if report is None:
        return []
    keys = assign(text)
    return [t for t in report.themes if t.key in keys and t.count > 0]


# --------------------------------------------------------------------------- model summaries


def summary_facts(t: ThemeStat) -> dict[str, Any]:
    """The numbers a model's summary of theme `t` may use (rounded as shown)."""

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "theme": t.name,
        "comments": t.count,
        "comments_before": t.before,
        "share_pct": r(t.share),
        "nps": r(t.nps),
        "nps_answers": t.nps_n,
        "effect_points": r(t.effect),
        "sentiments": dict(t.sentiments),
    }


def check_summary(text: str, facts: Mapping[str, Any]) -> bool:
    """A model's theme summary is usable when every number in it is one of the facts'
    (as the digest's paragraph, core.narrative.check_narrative) and it is short."""
    from core.narrative import check_narrative

    return bool(text) and len(text) <= 400 and check_narrative(text, facts)
