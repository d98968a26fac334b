"""Pulse surveys as Block Kit: the survey DM, the free-text modal, results, the create modal.

Pure functions of core/storage objects and a translator. Built-in template texts are
catalog entries, so they show in the reader's language; texts an admin typed are shown
as typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any, Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    ConversationSelectElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.handlers.themes.blocks import pulse_theme_text
from bot.i18n import N_, Translator
from bot.text import escape
from core.surveys import (
    NO_ANSWER,
    OTHER,
    TEMPLATES,
    WEEKDAYS,
    Question,
    QuestionResult,
    RoundResults,
    SurveyDefinition,
)

ANSWER_ACTION = "pulse_answer"  # prefix; the score follows, e.g. pulse_answer_7
TEXT_ACTION = "pulse_text"
TEXT_MODAL = "pulse_text_modal"
TEXT_BLOCK, TEXT_INPUT = "answer", "text"
CREATE_MODAL = "pulse_create_modal"
MAX_MESSAGE_BLOCKS = 50

SCALE_HINTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "nps": N_("0 = not at all likely, 10 = extremely likely"),
        "csat": N_("1 = very dissatisfied, 5 = very satisfied"),
        "ces": N_("1 = very difficult, 7 = very easy"),
        "likert": N_("1 = strongly disagree, 5 = strongly agree"),
    }
)
REPEAT_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "once": N_("Once"),
        "weekly": N_("Every week"),
        "every_other_week": N_("Every other week"),
        "monthly": N_("Every month"),
    }
)
WEEKDAY_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "mon": N_("Monday"),
        "tue": N_("Tuesday"),
        "wed": N_("Wednesday"),
        "thu": N_("Thursday"),
        "fri": N_("Friday"),
        "sat": N_("Saturday"),
        "sun": N_("Sunday"),
    }
)
CUSTOM = "custom"
CUSTOM_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "nps": N_("0-10 (how likely to recommend)"),
        "likert": N_("1-5 agree or disagree"),
        "csat": N_("1-5 satisfaction"),
        "ces": N_("1-7 ease"),
        "text": N_("Free text"),
    }
)


def _plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=text if len(text) <= limit else text[: limit - 1] + "…")


def _question_text(q: Question, t: Translator) -> str:
    return t.gettext(q.text)


def block_id(round_id: int, question_id: str) -> str:
    return f"pulse:{round_id}:{question_id}"


def parse_block_id(value: str) -> tuple[int, str] | None:
    parts = value.split(":", 2)
    if len(parts) != 3 or parts[0] != "pulse" or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2]


def survey_message(
    definition: SurveyDefinition,
    round_id: int,
    t: Translator,
    *,
    closes_at: datetime,
    tz: tzinfo,
    answers: Mapping[str, int | str] | None = None,
    reminder: bool = False,
    closed: bool = False,
) -> dict[str, Any]:
    """The DM that asks the questions; `answers` marks what this reader already chose."""
    answers = answers or {}
    name = t.gettext(definition.name)
    blocks: list[Block] = []
    if reminder:
        blocks.append(
            SectionBlock(
                text=t.gettext(
                    "Reminder: *{name}* closes {when}. It takes a minute.",
                    name=escape(name),
                    when=t.timestamp(closes_at, tz),
                )
            )
        )
    else:
        blocks.append(HeaderBlock(text=_plain(name, 150)))
    privacy = (
        t.gettext(
            "Anonymous: your answers are stored without your name, and results are shown "
            "only when at least {k} people have answered.",
            k=definition.min_answers_to_show,
        )
        if definition.anonymous
        else t.gettext("Not anonymous: the survey's owners see your name with your answers.")
    )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=privacy)]))
    for q in definition.questions:
        blocks.extend(_question_blocks(q, round_id, t, answers.get(q.id), closed))
    if closed:
        footer = t.gettext("This survey is closed. Thank you!")
    elif answers:
        footer = t.gettext(
            "Thank you! You can change your answers until {when}.",
            when=t.timestamp(closes_at, tz),
        )
    else:
        footer = t.gettext("Open until {when}.", when=t.timestamp(closes_at, tz))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        raise ValueError(f"a survey message has {len(blocks)} blocks; Slack allows 50")
    return {
        "text": t.gettext("Pulse survey: {name}", name=escape(name)),
        "blocks": [b.to_dict() for b in blocks],
        "unfurl_links": False,
    }


def _question_blocks(
    q: Question, round_id: int, t: Translator, chosen: int | str | None, closed: bool
) -> list[Block]:
    label = escape(_question_text(q, t))
    if q.optional:
        label += " " + t.gettext("(optional)")
    mark = " :white_check_mark:" if chosen is not None else ""
    blocks: list[Block] = [SectionBlock(text=f"*{label}*{mark}")]
    if closed:
        return blocks
    bid = block_id(round_id, q.id)
    if q.type == "text":
        button_text = t.gettext("Change your answer") if chosen else t.gettext("Write an answer")
        blocks.append(
            ActionsBlock(
                block_id=bid,
                elements=[
                    ButtonElement(
                        text=button_text,
                        action_id=TEXT_ACTION,
                        value=f"{round_id}:{q.id}",
                    )
                ],
            )
        )
        return blocks
    if q.type == "choice":
        choices = [(i, opt) for i, opt in enumerate(q.options or ())]
    else:
        low, high = q.scale or (0, 0)
        choices = [(s, str(s)) for s in range(low, high + 1)]
    buttons = [
        ButtonElement(
            text=_plain(text, 75),
            action_id=f"{ANSWER_ACTION}_{score}",
            value=f"{round_id}:{q.id}:{score}",
            style="primary" if chosen == score else None,
        )
        for score, text in choices
    ]
    blocks.append(ActionsBlock(block_id=bid, elements=buttons))
    hint = SCALE_HINTS.get(q.type)
    if hint:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=t.gettext(hint))]))
    return blocks


def text_modal(
    round_id: int, question: Question, t: Translator, current: str | None = None
) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=TEXT_MODAL,
        private_metadata=f"{round_id}:{question.id}",
        title=_plain(t.gettext("Pulse survey"), 24),
        submit=_plain(t.gettext("Send"), 24),
        close=_plain(t.gettext("Cancel"), 24),
        blocks=[
            InputBlock(
                block_id=TEXT_BLOCK,
                label=_plain(_question_text(question, t), 2000),
                element=PlainTextInputElement(
                    action_id=TEXT_INPUT,
                    multiline=True,
                    max_length=3000,
                    initial_value=current or None,
                ),
            )
        ],
    )
    return view.to_dict()


# --------------------------------------------------------------------------- results


def _score_text(q: QuestionResult, t: Translator) -> str:
    if q.type == "nps":
        text = t.gettext("Score {score}", score=t.signed(q.score, 0))
        if q.ci95:
            text += " " + t.gettext(
                "(95 % interval {low} to {high})",
                low=t.signed(q.ci95[0], 0),
                high=t.signed(q.ci95[1], 0),
            )
        return text
    if q.type == "csat":
        return t.gettext("{share} satisfied", share=t.percent(q.score, 0))
    if q.type == "ces":
        return t.gettext("Mean {score} of 7", score=t.number(q.score, 1))
    if q.type == "likert":
        return t.gettext(
            "Mean {score} of 5, {share} agree",
            score=t.number(q.score, 1),
            share=t.percent(q.favourable, 0),
        )
    return ""


def _distribution_text(q: QuestionResult) -> str:
    total = sum(q.distribution.values()) or 1
    lines = []
    for label, count in q.distribution.items():
        bar = "█" * round(12 * count / total)
        lines.append(f"`{label:>3}` {bar} {count}")
    return "\n".join(lines)


def _group_label(label: str, t: Translator) -> str:
    if label == OTHER:
        return t.gettext("Other groups")
    if label == NO_ANSWER:
        return t.gettext("No group given")
    return escape(label)


def results_message(
    definition: SurveyDefinition,
    results: RoundResults,
    t: Translator,
    *,
    opened_at: datetime,
    tz: tzinfo,
    trend: Sequence[tuple[datetime, RoundResults]] = (),
) -> dict[str, Any]:
    """The results posted when a round closes: never more than the anonymity rules allow."""
    name = t.gettext(definition.name)
    blocks: list[Block] = [
        HeaderBlock(
            text=_plain(t.gettext("{name}: results", name=name), 150),
        ),
    ]
    rate = t.gettext(
        "{answered} of {asked} answered ({rate}). Round opened {when}.",
        answered=results.answered,
        asked=results.asked,
        rate=t.percent(results.response_rate, 0),
        when=t.date(opened_at, tz=tz),
    )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=rate)]))
    if not results.shown:
        blocks.append(
            SectionBlock(
                text=t.gettext(
                    "Not enough answers to show results: {n} answered, and results are shown "
                    "only from {k} answers so that nobody can be singled out.",
                    n=results.answered,
                    k=results.min_answers,
                )
            )
        )
        return _message(blocks, t.gettext("{name}: not enough answers", name=escape(name)))
    for q in results.questions:
        question = definition.question(q.id)
        label = escape(t.gettext(question.text) if question else q.id)
        blocks.append(DividerBlock())
        if not q.shown:
            blocks.append(
                SectionBlock(
                    text=f"*{label}*\n"
                    + t.gettext("Not enough answers to this question ({n}) to show them.", n=q.n)
                )
            )
            continue
        if q.type == "text":
            if q.themes:
                # Named themes (core.themes), each named by two people or more.
                body = t.gettext("Themes: {themes}", themes=pulse_theme_text(q.themes, t))
            else:
                body = t.gettext("No theme was named by more than one person.")
            answers = t.ngettext("{n} answer", "{n} answers", q.n)
            blocks.append(SectionBlock(text=f"*{label}* ({answers})\n{body}"))
            continue
        lines = [f"*{label}*"]
        score = _score_text(q, t)
        answers = t.ngettext("{n} answer", "{n} answers", q.n)
        lines.append(f"{score} · {answers}" if score else answers)
        if q.small_sample:
            lines.append(t.gettext("_Small sample: read with care._"))
        previous = [r.question(q.id) for _when, r in trend]
        earlier = [p for p in previous if p is not None and p.shown and p.score is not None]
        if earlier and q.type != "choice":
            digits = 0 if q.type in ("nps", "csat") else 1
            series = " → ".join(
                [t.number(p.score, digits) for p in earlier] + [t.number(q.score, digits)]
            )
            lines.append(t.gettext("Trend over rounds: {series}", series=series))
        blocks.append(SectionBlock(text="\n".join(lines)[:3000]))
        blocks.append(SectionBlock(text=_distribution_text(q)[:3000]))
        if q.breakdown:
            rows = [
                f"{_group_label(g.label, t)}: {t.number(g.score, 1)} ({g.n})" for g in q.breakdown
            ]
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text=(t.gettext("By group:") + " " + " · ".join(rows))[:3000]
                        )
                    ]
                )
            )
    return _message(blocks, t.gettext("{name}: results", name=escape(name)))


def _message(blocks: list[Block], text: str) -> dict[str, Any]:
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 1], SectionBlock(text="…")]
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


# --------------------------------------------------------------------------- create modal

CREATE_FIELDS = (
    "template",
    "name",
    "channel",
    "users",
    "question",
    "qtype",
    "repeat",
    "weekday",
    "time",
    "anonymous",
    "results",
    "send_now",
)


VALUE = "value"  # every create-modal input's action id


def _option(value: str, text: str) -> Option:
    return Option(value=value, text=_plain(text, 75))


def _input(block_id: str, label: str, element: Any, *, optional: bool = False) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, element=element, optional=True if optional else None
    )


def _menu(options: list[Option], initial: Option | None = None) -> StaticSelectElement:
    return StaticSelectElement(action_id=VALUE, options=options, initial_option=initial)


def _radio(options: list[Option], initial: Option) -> RadioButtonsElement:
    return RadioButtonsElement(action_id=VALUE, options=options, initial_option=initial)


def _typed(max_length: int, initial: str | None = None) -> PlainTextInputElement:
    return PlainTextInputElement(action_id=VALUE, max_length=max_length, initial_value=initial)


def create_modal(t: Translator) -> dict[str, Any]:
    """`/pulse`: create a survey from a template or one question of your own."""
    templates = [_option(k, t.gettext(v)) for k, v in TEMPLATES.items()]
    templates.append(_option(CUSTOM, t.gettext("My own question")))
    repeats = [_option(k, t.gettext(v)) for k, v in REPEAT_NAMES.items()]
    weekdays = [_option(d, t.gettext(WEEKDAY_NAMES[d])) for d in WEEKDAYS]
    qtypes = [_option(k, t.gettext(v)) for k, v in CUSTOM_TYPES.items()]
    yes_no = [
        _option("yes", t.gettext("Anonymous")),
        _option("no", t.gettext("Named")),
    ]
    send = [
        _option("yes", t.gettext("Send the first round now")),
        _option("no", t.gettext("Wait for the schedule")),
    ]
    blocks = [
        _input("template", t.gettext("Template"), _menu(templates, templates[0])),
        _input("name", t.gettext("Name"), _typed(200), optional=True),
        _input(
            "channel",
            t.gettext("Ask the members of this channel"),
            ConversationSelectElement(action_id=VALUE),
            optional=True,
        ),
        _input(
            "users",
            t.gettext("… or these people"),
            UserMultiSelectElement(action_id=VALUE),
            optional=True,
        ),
        _input(
            "question",
            t.gettext("Your own question (with “My own question”)"),
            _typed(300),
            optional=True,
        ),
        _input("qtype", t.gettext("Answer with"), _menu(qtypes), optional=True),
        _input("repeat", t.gettext("How often"), _menu(repeats, repeats[2])),
        _input("weekday", t.gettext("On"), _menu(weekdays, weekdays[1])),
        _input("time", t.gettext("At (HH:MM, workspace time)"), _typed(5, "10:00")),
        _input("anonymous", t.gettext("Answers are"), _radio(yes_no, yes_no[0])),
        _input(
            "results",
            t.gettext("Post results in"),
            ConversationSelectElement(action_id=VALUE),
            optional=True,
        ),
        _input("send_now", t.gettext("First round"), _radio(send, send[1])),
    ]
    view = View(
        type="modal",
        callback_id=CREATE_MODAL,
        title=_plain(t.gettext("New pulse survey"), 24),
        submit=_plain(t.gettext("Create"), 24),
        close=_plain(t.gettext("Cancel"), 24),
        blocks=blocks,
    )
    return view.to_dict()


def create_values(state: Mapping[str, Any]) -> dict[str, Any]:
    """The create modal's submitted values by field (None when left empty)."""
    out: dict[str, Any] = {}
    for name in CREATE_FIELDS:
        element = (state.get(name) or {}).get(VALUE) or {}
        if "selected_option" in element:
            option = element.get("selected_option") or {}
            out[name] = option.get("value")
        elif "selected_conversation" in element:
            out[name] = element.get("selected_conversation")
        elif "selected_users" in element:
            out[name] = element.get("selected_users") or None
        else:
            value = element.get("value")
            out[name] = value.strip() if isinstance(value, str) and value.strip() else None
    return out


def survey_list(
    items: Sequence[tuple[int, str, str, datetime | None, bool]], t: Translator, tz: tzinfo
) -> dict[str, Any]:
    """`/pulse list`: (id, name, repeat, next round, open now) per survey."""
    if not items:
        text = t.gettext("No pulse surveys yet. Admins create one with `/pulse create`.")
        return {"text": text, "blocks": [SectionBlock(text=text).to_dict()]}
    lines = []
    for survey_id, name, repeat, upcoming, is_open in items:
        line = f"*{survey_id}* · {t.gettext(name)} · {t.gettext(REPEAT_NAMES.get(repeat, repeat))}"
        if is_open:
            line += " · " + t.gettext("a round is open")
        elif upcoming is not None:
            line += " · " + t.gettext("next round {when}", when=t.timestamp(upcoming, tz))
        lines.append(line)
    text = "\n".join(lines)[:3000]
    return {"text": text, "blocks": [SectionBlock(text=text).to_dict()]}
