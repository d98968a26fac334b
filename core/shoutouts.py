"""Shout-outs: what `/shoutout` means, the rules that keep praise meaningful, and the figures.

Pure rules, no Slack and no database:
- `parse_command` splits `/shoutout @a @b what they did #promise` into receivers, text and tag;
- `match_promise` / `suggest_promise` tie a shout-out to one of the customer promises;
- `receiver_problem` and `check_limits` say why a shout-out may not be given;
- `praise_receivers` finds the employee a customer's answer is about;
- `leaderboard` turns a week's shout-outs into top receivers and promises lived most and least.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

from core.metrics import SCORE_RANGES, is_detractor, is_promoter

MAX_TEXT = 2000  # leaves room for names and the promise within Slack's 3,000-character section
MAX_RECEIVERS = 10
MAX_PRAISED = 3  # employees one customer answer may name
# Customer answers older than this when stored are history, not news: no praise is posted.
PRAISE_MAX_AGE_DAYS = 7
# Cosine similarity (TF-IDF over character n-grams) from which a promise is suggested for
# a text that names none; below it the shout-out stays untagged rather than mis-tagged.
SUGGEST_THRESHOLD = 0.12

# ---------------------------------------------------------------------------- parsing

ParseProblem = Literal["no_mention", "malformed_mention", "group_mention", "too_long", "too_many"]


class ParseError(ValueError):
    """The command text cannot be read; `problem` says why, `token` what was typed."""

    def __init__(self, problem: ParseProblem, token: str = "") -> None:
        super().__init__(f"{problem}: {token}" if token else problem)
        self.problem: ParseProblem = problem
        self.token = token


@dataclass(frozen=True)
class Mention:
    """A receiver as typed: a Slack user id (`<@U123|name>`) or a plain `@name`."""

    raw: str
    user_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ParsedCommand:
    mentions: tuple[Mention, ...]
    text: str  # what they did, without the mentions and the promise tag
    tag: str | None  # the promise tag without '#', as typed


_ESCAPED_USER = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|([^>]*))?>")
_PLAIN_USER = re.compile(r"@([^\s@<>,;:!?()\[\]{}\"'`]+)")
_GROUP = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>|<!(?:here|channel|everyone)(?:\|[^>]*)?>")
_CHANNEL_REF = re.compile(r"^<#[CG][A-Z0-9]+\|([^>]*)>$")
_TAG = re.compile(r"^#([^\s#<>]+)$")
_SEPARATORS = " \t\r\n,&+"


def parse_command(text: str) -> ParsedCommand:
    """Read `@person [@more] what they did [#promise]`.

    Receivers are the mentions at the start; later mentions stay part of the text. The
    last word is the promise tag when it starts with `#` (Slack may have turned it into a
    channel link when a channel of that name exists). A text without any leading mention
    is a `no_mention` error; only mentions and no text is fine (the form asks for it).
    """
    rest = text.strip()
    mentions: list[Mention] = []
    while True:
        rest = rest.lstrip(_SEPARATORS)
        if not rest or rest[0] not in "<@":
            break
        group = _GROUP.match(rest)
        if group:
            raise ParseError("group_mention", group.group(0))
        escaped = _ESCAPED_USER.match(rest)
        if escaped:
            label = (escaped.group(2) or "").lstrip("@") or None
            mentions.append(Mention(escaped.group(0), user_id=escaped.group(1), name=label))
            rest = rest[escaped.end() :]
            continue
        if rest.startswith("<"):
            if rest.startswith("<@"):
                raise ParseError("malformed_mention", _first_word(rest))
            break  # a channel link or URL: the text begins
        plain = _PLAIN_USER.match(rest)
        end = plain.end() if plain else 1
        if not plain or (end < len(rest) and rest[end] in "@<>"):
            raise ParseError("malformed_mention", _first_word(rest))
        name = plain.group(1).rstrip(".")
        if not name:
            raise ParseError("malformed_mention", _first_word(rest))
        mentions.append(Mention(plain.group(0), name=name))
        rest = rest[end:]
    if not mentions:
        raise ParseError("no_mention", _first_word(rest))
    if len(mentions) > MAX_RECEIVERS:
        raise ParseError("too_many", str(len(mentions)))
    body, tag = _split_tag(rest.strip().lstrip(":;-–— ").strip())
    if len(body) > MAX_TEXT:
        raise ParseError("too_long", str(len(body)))
    return ParsedCommand(tuple(mentions), body, tag)


def _first_word(text: str) -> str:
    word = text.split(maxsplit=1)[0] if text.split() else ""
    return word[:40]


def _split_tag(text: str) -> tuple[str, str | None]:
    words = text.rsplit(maxsplit=1)
    if not words:
        return "", None
    last = words[-1]
    channel = _CHANNEL_REF.match(last)
    tag = channel.group(1) if channel else None
    if tag is None:
        plain = _TAG.match(last)
        tag = plain.group(1) if plain else None
    if not tag:
        return text, None
    return (words[0].rstrip() if len(words) == 2 else ""), tag


# ---------------------------------------------------------------------------- names

_FOLD = str.maketrans(
    {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "đ": "d", "Đ": "D", "ð": "d"}
    | {"Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "œ": "oe", "Œ": "OE"}
)


def fold(text: str) -> str:
    """`text` without accents (Bjørn -> Bjorn, Åse -> Ase), case kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slug(text: str) -> str:
    """`Svar innen én dag!` -> `svar-innen-en-dag`: case-, accent- and punctuation-free."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text).lower()).strip("-")


@dataclass(frozen=True)
class Person:
    """A member of the workspace as Slack describes them (users.info / users.list)."""

    user_id: str
    name: str = ""  # the username
    real_name: str = ""
    display_name: str = ""
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    locale: str | None = None  # Slack's, e.g. nb-NO

    @property
    def active_human(self) -> bool:
        return not self.is_bot and not self.deleted


def _name_keys(person: Person) -> set[str]:
    keys = {person.name, person.display_name, person.real_name}
    real = person.real_name.strip()
    if " " in real:
        keys |= {real.replace(" ", sep) for sep in ("", ".", "_", "-")}
    return {slug(k) for k in keys if k and k.strip()} - {""}


def resolve_name(name: str, people: Iterable[Person]) -> list[Person]:
    """The people a plain `@name` may mean: username, display or real name, ignoring case
    and accents; a unique first name as a last resort. Deactivated members are left out."""
    wanted = slug(name)
    if not wanted:
        return []
    living = [p for p in people if not p.deleted]
    exact = [p for p in living if wanted in _name_keys(p)]
    if exact:
        return exact
    return [p for p in living if p.real_name and slug(p.real_name.split()[0]) == wanted]


ReceiverProblem = Literal["self", "bot", "deactivated"]


def receiver_problem(giver: str, person: Person) -> ReceiverProblem | None:
    """Why `person` cannot receive a shout-out from `giver`, or None."""
    if person.user_id == giver:
        return "self"
    if person.is_bot:
        return "bot"
    if person.deleted:
        return "deactivated"
    return None


# ---------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    daily: int  # shout-outs one person may give per day; 0 = no limit
    pair_weekly: int  # times one giver may praise the same person in 7 days; 0 = no limit


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    reason: Literal["daily", "pair"] | None = None
    pair_user: str | None = None  # the receiver that hit the pair limit
    limit: int = 0  # the limit that applies (daily, or pair when refused for it)
    remaining: int | None = None  # daily shout-outs left after this one; None = no limit

    @property
    def last_one_left(self) -> bool:
        """True when the giver can give exactly one more today: the warning before the last."""
        return self.allowed and self.remaining == 1


def check_limits(
    *,
    given_today: int,
    pair_counts: Mapping[str, int],
    receivers: Sequence[str],
    limits: Limits,
) -> Allowance:
    """May the giver give one more shout-out to `receivers`?

    `given_today` counts the giver's shout-outs so far today; `pair_counts` how many each
    receiver got from this giver in the last 7 days.
    """
    if limits.daily > 0 and given_today >= limits.daily:
        return Allowance(False, "daily", limit=limits.daily, remaining=0)
    if limits.pair_weekly > 0:
        for user in receivers:
            if pair_counts.get(user, 0) >= limits.pair_weekly:
                return Allowance(False, "pair", pair_user=user, limit=limits.pair_weekly)
    if limits.daily <= 0:
        return Allowance(True)
    return Allowance(True, limit=limits.daily, remaining=limits.daily - given_today - 1)


# ---------------------------------------------------------------------------- promises


def match_promise(tag: str, promises: Sequence[str]) -> str | None:
    """The promise a `#tag` names: same slug, the slug without hyphens, or a unique prefix."""
    wanted = slug(tag)
    if not wanted:
        return None
    slugs = [(slug(p), p) for p in promises]
    for s, promise in slugs:
        if s == wanted or s.replace("-", "") == wanted.replace("-", ""):
            return promise
    prefixed = [p for s, p in slugs if s.startswith(wanted)]
    return prefixed[0] if len(prefixed) == 1 else None


def promise_tag(promise: str) -> str:
    """How a promise is typed as a tag: `#answer-within-a-day`."""
    return "#" + slug(promise)


def suggest_promise(
    text: str, promises: Sequence[str], *, threshold: float = SUGGEST_THRESHOLD
) -> str | None:
    """The promise `text` is most like, or None when none is close enough.

    TF-IDF over character n-grams within words, so "answered" meets "answer" and
    "ringte" meets "ring" in every language; deterministic (no model, no randomness).
    """
    candidates = tuple(p for p in promises if p.strip())
    if not candidates:
        return None
    return _suggester(candidates).suggest(text, threshold)


class PromiseSuggester:
    """`suggest_promise` for one list of promises, prepared once.

    The same figures as scikit-learn's TfidfVectorizer(analyzer="char_wb",
    ngram_range=(3, 5), sublinear_tf=True) fitted on the promises and the text, computed
    directly: refitting the vectorizer for each of thousands of answers in an import
    costs milliseconds each.
    """

    def __init__(self, promises: Sequence[str]) -> None:
        self.promises = tuple(promises)
        self._grams = [Counter(_char_ngrams(fold(p).lower())) for p in self.promises]
        self._df: Counter[str] = Counter()
        for grams in self._grams:
            self._df.update(grams.keys())

    def scores(self, text: str) -> list[float]:
        grams = Counter(_char_ngrams(fold(text).lower()))
        if not grams:
            return [0.0] * len(self.promises)
        n = len(self.promises) + 1

        def idf(gram: str) -> float:
            df = self._df.get(gram, 0) + (1 if gram in grams else 0)
            return math.log((1 + n) / (1 + df)) + 1

        def vector(counts: Counter[str]) -> dict[str, float]:
            return {g: (1 + math.log(c)) * idf(g) for g, c in counts.items()}

        query = vector(grams)
        query_norm = math.sqrt(sum(v * v for v in query.values()))
        out = []
        for counts in self._grams:
            doc = vector(counts)
            norm = math.sqrt(sum(v * v for v in doc.values()))
            dot = sum(v * query[g] for g, v in doc.items() if g in query)
            out.append(dot / (norm * query_norm) if norm and query_norm else 0.0)
        return out

    def suggest(self, text: str, threshold: float = SUGGEST_THRESHOLD) -> str | None:
        if not text.strip():
            return None
        scores = self.scores(text)
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        return self.promises[best] if scores[best] >= threshold else None


@lru_cache(maxsize=32)
def _suggester(promises: tuple[str, ...]) -> PromiseSuggester:
    return PromiseSuggester(promises)


def _char_ngrams(text: str, low: int = 3, high: int = 5) -> list[str]:
    """Character n-grams inside word boundaries, padded with a space (scikit-learn's char_wb)."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if n > length:
                break
            grams += [padded[i : i + n] for i in range(length - n + 1)]
    return grams


# ---------------------------------------------------------------------------- customer praise


def is_praise(metric: str, score: int, thresholds: Mapping[str, int] | None = None) -> bool:
    """A promoter answer that is not also a detractor under the workspace's thresholds
    (a CSAT threshold configured at 5 would make a 5 both: a detractor never praises)."""
    if metric not in SCORE_RANGES:
        return False
    return is_promoter(metric, score) and not is_detractor(metric, score, thresholds)


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def employee_receiver(employee: str, people: Sequence[Person]) -> str | None:
    """The Slack user an answer's `employee` column names (user id, e-mail or name)."""
    value = employee.strip()
    if not value:
        return None
    by_id = {p.user_id: p for p in people}
    if _USER_ID.match(value):
        known = by_id.get(value)
        return value if known is None or known.active_human else None
    if "@" in value:
        wanted = value.lower()
        found = [p for p in people if p.email and p.email.lower() == wanted and p.active_human]
        return found[0].user_id if len(found) == 1 else None
    named = [p for p in resolve_name(value, people) if p.active_human]
    return named[0].user_id if len(named) == 1 else None


class NameFinder:
    """Finds colleagues named in free text (a customer's comment).

    A full real name counts anywhere, ignoring case and accents. A single word (a first
    name, a one-word display name) counts only when it is written with a capital letter,
    as names are, and belongs to one colleague only: "Kari" with two Karis names nobody.
    """

    def __init__(self, people: Iterable[Person]) -> None:
        humans = [p for p in people if p.active_human]
        phrases: dict[str, set[str]] = {}
        words: dict[str, set[str]] = {}
        for p in humans:
            for value in (p.real_name, p.display_name):
                parts = fold(value).split()
                if len(parts) >= 2:
                    phrases.setdefault(" ".join(parts).lower(), set()).add(p.user_id)
            for single in (p.real_name.split()[:1], p.display_name.split()):
                if len(single) == 1 and len(single[0]) >= 3 and single[0].isalpha():
                    words.setdefault(fold(single[0]).lower(), set()).add(p.user_id)
        self._phrases = {k: next(iter(v)) for k, v in phrases.items() if len(v) == 1}
        self._words = {k.capitalize(): next(iter(v)) for k, v in words.items() if len(v) == 1}
        self._phrase_re = _alternation(self._phrases)
        self._word_re = _alternation(self._words)

    def find(self, text: str) -> list[str]:
        """User ids named in `text`, in order of first appearance, each once."""
        if not text:
            return []
        folded = fold(text)
        found: list[tuple[int, str]] = []
        if self._phrase_re is not None:
            lowered = " ".join(folded.lower().split())
            found += [
                (m.start(), self._phrases[m.group(1)]) for m in self._phrase_re.finditer(lowered)
            ]
        if self._word_re is not None:
            spaced = " ".join(folded.split())
            found += [(m.start(), self._words[m.group(1)]) for m in self._word_re.finditer(spaced)]
        ordered: list[str] = []
        for _pos, user in sorted(found):
            if user not in ordered:
                ordered.append(user)
        return ordered


def _alternation(keys: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first, so "Ada Lovelace" wins over a display name "Ada" at the same place.
    ordered = sorted(set(keys), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in ordered) + r")(?!\w)")


def praise_receivers(
    employee: str | None,
    comment: str | None,
    people: Sequence[Person],
    finder: NameFinder | None = None,
) -> tuple[str, ...]:
    """Whom a promoter's answer praises: the `employee` column when it names someone,
    else the colleagues named in the comment (at most MAX_PRAISED)."""
    if employee:
        user = employee_receiver(employee, people)
        if user:
            return (user,)
    if comment:
        names = (finder or NameFinder(people)).find(comment)
        return tuple(names[:MAX_PRAISED])
    return ()


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class ShoutoutRow:
    """One shout-out as the figures need it."""

    id: int
    giver: str | None  # None: praise from a customer
    receivers: tuple[str, ...]
    promise: str | None
    seconds: int
    source: str
    created_at: datetime


@dataclass(frozen=True)
class ReceiverScore:
    user_id: str
    shoutouts: int
    seconds: int
    from_customers: int


@dataclass(frozen=True)
class PromiseCount:
    promise: str
    count: int


@dataclass(frozen=True)
class Leaderboard:
    total: int
    from_customers: int
    givers: int  # distinct colleagues who gave at least one
    seconds: int
    top_receivers: tuple[ReceiverScore, ...]
    promises_most: tuple[PromiseCount, ...]  # lived most, count > 0
    promises_least: tuple[PromiseCount, ...]  # configured promises lived least (0 included)
    untagged: int
    promise_counts: tuple[PromiseCount, ...]  # every configured promise, in config order


def leaderboard(
    rows: Sequence[ShoutoutRow], promises: Sequence[str], *, top: int = 5
) -> Leaderboard:
    """The figures of a set of shout-outs (usually one week's).

    Receivers rank by shout-outs, then seconds, then id (stable). A tagged promise is
    matched to the configured list by slug, so a renamed capitalisation still counts;
    a tag no longer configured is counted under its own name among "most" but not "least".
    The least-lived list holds the configured promises with the fewest shout-outs,
    starting with those nobody lived this week.
    """
    received: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    customer: Counter[str] = Counter()
    by_slug = {slug(p): p for p in promises}
    counts: Counter[str] = Counter()
    untagged = 0
    givers: set[str] = set()
    for row in rows:
        if row.giver:
            givers.add(row.giver)
        for user in dict.fromkeys(row.receivers):
            received[user] += 1
            seconds[user] += row.seconds
            if row.giver is None:
                customer[user] += 1
        if row.promise:
            counts[by_slug.get(slug(row.promise), row.promise)] += 1
        else:
            untagged += 1
    ranked = sorted(received, key=lambda u: (-received[u], -seconds[u], u))[:top]
    order = {p: i for i, p in enumerate(promises)}
    most = sorted(
        (p for p in counts if counts[p] > 0),
        key=lambda p: (-counts[p], order.get(p, len(order)), p),
    )[:top]
    configured = [PromiseCount(p, counts.get(p, 0)) for p in dict.fromkeys(promises)]
    least = sorted(configured, key=lambda c: (c.count, order[c.promise]))[:top]
    return Leaderboard(
        total=len(rows),
        from_customers=sum(1 for r in rows if r.giver is None),
        givers=len(givers),
        seconds=sum(r.seconds for r in rows),
        top_receivers=tuple(ReceiverScore(u, received[u], seconds[u], customer[u]) for u in ranked),
        promises_most=tuple(PromiseCount(p, counts[p]) for p in most),
        promises_least=tuple(least),
        untagged=untagged,
        promise_counts=tuple(configured),
    )
