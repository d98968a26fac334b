"""Survey tools' own webhooks, turned into the answers `POST /webhooks/responses` takes.

Each tool signs its deliveries its own way and shapes its payload its own way; this
module knows both and nothing else (bot/web.py reads the request, finds the workspace's
secret and stores what comes out here through the same path as /webhooks/responses).

A delivery becomes a list of items, one per NPS, CSAT or CES question answered: an
answer object (the fields of CONTRACT.md "Data files") or a `Refused` saying why that
question gives no answer. A delivery that is not an answer at all (another event type)
is `ignored`, with the reason.

Sources (read, not copied):
- Typeform: payload https://www.typeform.com/developers/webhooks/example-payload/ ,
  signature https://www.typeform.com/developers/webhooks/secure-your-webhooks/
- Delighted: payload and events https://app.delighted.com/docs/api/webhooks ; the
  `X-Delighted-Webhook-Signature: sha256=<hex>` scheme (HMAC-SHA256 of the raw body with
  the project's API key) as verified by public client code, kiteco/kiteco (kite-go,
  the account package's Delighted webhook check)
- Formbricks: github:formbricks/formbricks, apps/web/lib/crypto.ts
  (generateStandardWebhookSignature), apps/web/modules/response-pipeline/lib/
  process-response-pipeline-job.ts (the body and the webhook-* headers) and
  docs/platform/features/integrations/webhooks.mdx (Standard Webhooks, example payloads)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core.metrics import SCORE_RANGES

# Standard Webhooks' suggested tolerance; Formbricks' docs use the same five minutes.
TIMESTAMP_TOLERANCE_SECONDS = 300

Headers = Mapping[str, str]  # lower-case names
Query = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Refused:
    """A question (or a whole delivery) that gives no answer, and why."""

    reason: str


Item = dict[str, Any] | Refused


@dataclass(frozen=True)
class Adapted:
    items: list[Item] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # which question each item came from
    ignored: str | None = None


@dataclass(frozen=True)
class Tool:
    name: str  # the path (/webhooks/<name>) and the stored answers' source
    title: str
    secret_key: str  # the workspace setting holding the tool's signing secret
    signature: str  # how the tool signs, for the 401 message
    verify: Callable[[str, bytes, Headers, float], bool]
    adapt: Callable[[Any, Query], Adapted]


# ---------------------------------------------------------------------- which metric

_NPS_WORDS = re.compile(r"\b(recommend\w*|anbefal\w*|rekommend\w*)", re.IGNORECASE)
_CES_WORDS = re.compile(
    r"\b(easy|easily|easier|effort\w*|lett|lettere|enkel|enkelt|enkla|enklere|nem|nemt|"
    r"lätt|lätta|lättare|innsats|anstrengelse|ansträngning)\b",
    re.IGNORECASE,
)
_CSAT_WORDS = re.compile(
    r"\b(satisf\w*|fornøyd\w*|fornøjet|tilfreds\w*|nöjd\w*|tillfreds\w*)", re.IGNORECASE
)
_SCALES = {scale: metric for metric, scale in SCORE_RANGES.items()}
# The tools' own names for a survey or question type that is one of the metrics (Delighted's
# survey_type, AskNicely's question_type): five stars and smileys are 1-5 satisfaction
# scales; eNPS (employees), PMF and thumbs are not a customer metric.
METRIC_NAMES = {
    "nps": "nps", "csat": "csat", "ces": "ces", "five_star": "csat", "5star": "csat",
    "smileys": "csat",
}  # fmt: skip


def metric_from_text(text: str) -> str | None:
    """The metric a question's wording names (en, nb, da, sv), or None when it names none
    or more than one (the scale decides then)."""
    if _NPS_WORDS.search(text):
        return "nps"
    ces, csat = bool(_CES_WORDS.search(text)), bool(_CSAT_WORDS.search(text))
    if ces != csat:
        return "ces" if ces else "csat"
    return None


def metric_from_scale(lowest: int | None, highest: int | None) -> str | None:
    if lowest is None or highest is None:
        return None
    return _SCALES.get((lowest, highest))


def metric_from_name(name: str) -> str | None:
    """The metric a question id or field name spells out (`nps`, `csat_support`, ...)."""
    words = set(re.split(r"[^a-z]+", name.lower()))
    found = {m for m in ("nps", "csat", "ces") if m in words}
    return found.pop() if len(found) == 1 else metric_from_text(name.replace("_", " "))


# ---------------------------------------------------------------------- shared helpers


def _obj(value: Any) -> dict[str, Any]:
    """`value` where it is a JSON object, else an empty one: a tool's optional parts may be
    null or of another type, and a delivery must not fail on that."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """`value` where it is a JSON array, else an empty one (see `_obj`)."""
    return value if isinstance(value, list) else []


def field_key(name: str) -> str:
    """A field or column name compared loosely: `Customer ID`, `customer_id`, `customerId`."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Hidden fields, person properties and contact attributes that carry an answer's other
# fields, by their normalised name.
_EXTRA_FIELDS = {
    "customer_id": ("customerid", "customer", "accountid", "userid", "clientid", "kundeid"),
    "segment": ("segment", "plan", "tier", "customersegment"),
    "touchpoint": ("touchpoint", "channel"),
    "employee": ("employee", "agent", "employeeemail", "agentemail"),
}


def _extras(*sources: Any) -> dict[str, str]:
    """customer_id, segment, touchpoint, employee from the first source that has them."""
    found: dict[str, str] = {}
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        named = {field_key(str(k)): v for k, v in source.items()}
        for target, names in _EXTRA_FIELDS.items():
            if target in found:
                continue
            for n in names:
                value = named.get(n)
                if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                    found[target] = str(value).strip()
                    break
    return found


def _answer(
    response_id: str | None, responded_at: Any, metric: str, score: Any, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {"responded_at": responded_at, "metric": metric, "score": score}
    if response_id:
        item["response_id"] = response_id
    item.update({k: v for k, v in extra.items() if v not in (None, "")})
    return item


# A scored question of a response: (question key, metric, score, label for reasons).
Scored = tuple[str, str, Any, str]


def _response_answers(
    response_id: str | None, responded_at: Any, scores: Sequence[Scored], **extra: Any
) -> Adapted:
    """One answer per scored question of one response, sharing its other fields. The
    tool's own response id goes to the first (so a re-delivery, or that tool's export, is
    a duplicate), with the question's key after it for the rest."""
    items: list[Item] = []
    labels: list[str] = []
    for n, (key, metric, score, label) in enumerate(scores):
        rid = (response_id if n == 0 else f"{response_id}:{key}") if response_id else None
        items.append(_answer(rid, responded_at, metric, score, **extra))
        labels.append(label)
    return Adapted(items, labels)


def _not_object(title: str, what: str) -> Adapted:
    return Adapted([Refused(f"a {title} delivery is a JSON object with {what}")], ["(body)"])


# ---------------------------------------------------------------------- Typeform


def typeform_signed(secret: str, body: bytes, headers: Headers, now: float) -> bool:
    """`Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>`."""
    given = headers.get("typeform-signature", "").strip()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    expected = "sha256=" + base64.b64encode(digest).decode()
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


_TYPEFORM_SCALES = {"nps", "opinion_scale", "rating"}


def _typeform_scale(kind: str, props: Mapping[str, Any]) -> tuple[int | None, int | None]:
    steps = props.get("steps")
    if kind == "nps":
        return 0, 10
    if not isinstance(steps, int) or isinstance(steps, bool):
        return None, None
    # Opinion scales start at 0 unless told otherwise; ratings (stars) always at 1.
    start = 1 if kind == "rating" or props.get("start_at_one") else 0
    return start, start + steps - 1


def typeform_answers(payload: Any, query: Query) -> Adapted:
    if not isinstance(payload, dict):
        return _not_object("Typeform", "form_response")
    event = payload.get("event_type")
    if event != "form_response":
        return Adapted(ignored=f"event_type {event!r} is not a submitted form_response")
    response = payload.get("form_response")
    if not isinstance(response, dict):
        return _not_object("Typeform", "form_response")
    definition = _obj(response.get("definition"))
    fields = {
        str(f["id"]): f
        for f in _list(definition.get("fields"))
        if isinstance(f, dict) and f.get("id")
    }
    hidden = _obj(response.get("hidden"))
    scores: list[Scored] = []
    refused: list[tuple[Refused, str]] = []
    texts: list[str] = []
    email: str | None = None
    for given in _list(response.get("answers")):
        if not isinstance(given, dict):
            continue
        ref = _obj(given.get("field"))
        fid = str(ref.get("id") or "")
        spec = fields.get(fid, {})
        kind = str(ref.get("type") or spec.get("type") or "")
        title = str(spec.get("title") or ref.get("ref") or fid)
        label = f"{title} ({fid})" if fid else title
        if given.get("type") == "text" and isinstance(given.get("text"), str):
            if given["text"].strip():
                texts.append(given["text"].strip())
            continue
        if given.get("type") == "email" and isinstance(given.get("email"), str):
            email = email or given["email"]
            continue
        if kind not in _TYPEFORM_SCALES and given.get("type") != "choice":
            continue
        metric = "nps" if kind == "nps" else metric_from_text(title)
        props = _obj(spec.get("properties"))
        lowest, highest = _typeform_scale(kind, props)
        metric = metric or metric_from_scale(lowest, highest)
        if given.get("type") == "choice":
            # A choice question counts only when its wording names a metric and its
            # choices are that scale, in order (worst first).
            score = _choice_score(given, spec, metric) if metric_from_text(title) else None
            if score is not None and metric is not None:
                scores.append((fid, metric, score, label))
            continue
        if given.get("type") != "number":
            continue
        if metric is None:
            scale = f"{lowest}-{highest}" if lowest is not None else "not given"
            refused.append(
                (
                    Refused(
                        f"which metric is {title!r}? Its wording names none (recommend, "
                        f"satisfied, easy) and its scale ({scale}) is not 0-10, 1-5 or 1-7"
                    ),
                    label,
                )
            )
            continue
        scores.append((fid, metric, given.get("number"), label))
    if not scores and not refused:
        return Adapted(
            [Refused("the form response holds no NPS, CSAT or CES question")], ["(response)"]
        )
    token = response.get("token") if isinstance(response.get("token"), str) else None
    extra = _extras(hidden)
    extra.setdefault("customer_id", email or "")
    comment = "\n".join(texts) or None
    found = _response_answers(token, response.get("submitted_at"), scores, comment=comment, **extra)
    return Adapted(
        [*found.items, *(reason for reason, _ in refused)],
        [*found.labels, *(label for _, label in refused)],
    )


def _choice_score(given: Mapping[str, Any], spec: Mapping[str, Any], metric: str | None) -> Any:
    label = _obj(given.get("choice")).get("label")
    if not isinstance(label, str):
        return None
    if label.strip().isdigit():
        return int(label.strip())
    choices = [c.get("label") for c in _list(spec.get("choices")) if isinstance(c, dict)]
    size = {"csat": 5, "ces": 7}.get(metric or "")
    if size is None or len(choices) != size or label not in choices:
        return None
    return choices.index(label) + 1


# ---------------------------------------------------------------------- Delighted


def delighted_signed(secret: str, body: bytes, headers: Headers, now: float) -> bool:
    """`X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    given = headers.get("x-delighted-webhook-signature", "").strip().lower()
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = given.removeprefix("sha256=")
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _epoch(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return str(value)
    return value


def delighted_answers(payload: Any, query: Query) -> Adapted:
    if not isinstance(payload, dict):
        return _not_object("Delighted", "event_type and event_data")
    event = payload.get("event_type")
    if event not in ("survey_response.created", "survey_response.updated"):
        return Adapted(ignored=f"event_type {event!r} is not a survey response")
    data = payload.get("event_data", payload.get("survey_response"))
    if not isinstance(data, dict):
        return _not_object("Delighted", "event_data")
    label = f"survey response {data.get('id')}"
    kind = data.get("survey_type")
    metric = METRIC_NAMES.get(str(kind).lower()) if kind is not None else "nps"
    if metric is None:
        return Adapted(
            [
                Refused(
                    f"survey_type {kind!r} is not NPS, CSAT or CES "
                    "(nps, csat, ces, five_star, smileys)"
                )
            ],
            [label],
        )
    person = _obj(data.get("person"))
    extra = _extras(data.get("person_properties"))
    extra.setdefault("customer_id", str(person.get("email") or person.get("id") or ""))
    comment = data.get("comment") if isinstance(data.get("comment"), str) else None
    rid = str(data["id"]) if data.get("id") not in (None, "") else None
    item = _answer(
        rid, _epoch(data.get("created_at")), metric, data.get("score"), comment=comment, **extra
    )
    return Adapted([item], [label])


# ---------------------------------------------------------------------- Formbricks


def formbricks_signed(secret: str, body: bytes, headers: Headers, now: float) -> bool:
    """Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of
    "{webhook-id}.{webhook-timestamp}.{body}">` keyed with the base64 after `whsec_`,
    and a timestamp within five minutes (a captured delivery cannot be sent later)."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    given = headers.get("webhook-signature", "")
    if not msg_id or not given or not re.fullmatch(r"[0-9]{1,12}", stamp):
        return False
    if abs(now - int(stamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        return False
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return False
    signed = f"{msg_id}.{stamp}.".encode("utf-8", "replace") + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    # Several signatures, space-separated, while a secret is being rotated.
    for part in given.split():
        version, _, signature = part.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            return True
    return False


_FORMBRICKS_COMMENT = re.compile(
    r"comment|feedback|why|reason|improve|kommentar|tilbakemelding", re.I
)


def formbricks_answers(payload: Any, query: Query) -> Adapted:
    if not isinstance(payload, dict):
        return _not_object("Formbricks", "event and data")
    event = payload.get("event")
    if event != "responseFinished":
        # responseCreated and responseUpdated come while the respondent is still answering:
        # storing one would make the finished response (with its comment) a duplicate.
        return Adapted(ignored=f"event {event!r}: only responseFinished is stored")
    response = payload.get("data")
    if not isinstance(response, dict) or not isinstance(response.get("data"), dict):
        return _not_object("Formbricks", "data.data (the answers by question id)")
    answers: dict[str, Any] = response["data"]
    # Formbricks sends no question types, so the URL may say which question is which:
    # ?team=T...&nps=<question id>&comment=<question id>.
    chosen = {m: (query.get(m) or [""])[0] for m in ("nps", "csat", "ces", "comment")}
    scores: list[Scored] = []
    for qid, value in answers.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        metric = next((m for m in ("nps", "csat", "ces") if chosen[m] == qid), None)
        if metric is None and not any(chosen[m] for m in ("nps", "csat", "ces")):
            metric = metric_from_name(qid)
        if metric is not None:
            scores.append((qid, metric, value, qid))
    if not scores:
        numbers = ", ".join(
            f"{q}={v}"
            for q, v in answers.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        )
        return Adapted(
            [
                Refused(
                    "no question of this response is known as NPS, CSAT or CES (Formbricks "
                    "sends no question types): add &nps=<question id> (or &csat=, &ces=) to "
                    "the webhook URL, or give the question an id naming its metric"
                    + (f"; numeric answers: {numbers}" if numbers else "")
                )
            ],
            ["(response)"],
        )
    texts = [
        v.strip()
        for q, v in answers.items()
        if isinstance(v, str)
        and v.strip()
        and (q == chosen["comment"] if chosen["comment"] else bool(_FORMBRICKS_COMMENT.search(q)))
    ]
    contact = _obj(response.get("contact"))
    attributes = response.get("contactAttributes")
    extra = _extras(answers, attributes)
    attrs = _obj(attributes)
    fallback = contact.get("userId") or attrs.get("email") or contact.get("id") or ""
    extra.setdefault("customer_id", str(fallback))
    rid = response.get("id") if isinstance(response.get("id"), str) else None
    comment = "\n".join(texts) or None
    return _response_answers(rid, response.get("createdAt"), scores, comment=comment, **extra)


# ---------------------------------------------------------------------- the tools

TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "typeform",
            "Typeform",
            "webhook.typeform_secret",
            "Typeform-Signature (sha256=<base64 HMAC-SHA256 of the body>)",
            typeform_signed,
            typeform_answers,
        ),
        Tool(
            "delighted",
            "Delighted",
            "webhook.delighted_secret",
            "X-Delighted-Webhook-Signature (sha256=<hex HMAC-SHA256 of the body>)",
            delighted_signed,
            delighted_answers,
        ),
        Tool(
            "formbricks",
            "Formbricks",
            "webhook.formbricks_secret",
            "webhook-id, webhook-timestamp (within five minutes) and webhook-signature "
            "(v1,<base64 HMAC-SHA256>, Standard Webhooks)",
            formbricks_signed,
            formbricks_answers,
        ),
    )
}
