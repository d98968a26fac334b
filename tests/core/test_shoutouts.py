"""The pure shout-out rules: parsing, promises, limits, customer praise and the leaderboard."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.shoutouts import (
    MAX_TEXT,
    Limits,
    Mention,
    NameFinder,
    ParseError,
    Person,
    PromiseSuggester,
    ShoutoutRow,
    check_limits,
    employee_receiver,
    fold,
    is_praise,
    leaderboard,
    match_promise,
    parse_command,
    praise_receivers,
    promise_tag,
    receiver_problem,
    resolve_name,
    slug,
    suggest_promise,
)

PROMISES = ["Answer within a day", "Keep it simple", "Fix it right the first time"]
PEOPLE = [
    Person("U0ADA", "ada", "Ada Lovelace", "ada", "ada@example.com", locale="en-US"),
    Person("U0BJORN", "bjorn", "Bjørn Hansen", "bjorn", "bjorn@example.com", locale="nb-NO"),
    Person("U0KARI", "kari", "Kari Nordmann", "kari", "kari@example.com"),
    Person("U0KARI2", "kari.s", "Kari Solberg", "", "kari.s@example.com"),
    Person("U0BOT", "otherbot", "Other Bot", "", is_bot=True),
    Person("U0GONE", "former", "Former Colleague", "", "former@example.com", deleted=True),
]
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------- parsing


def test_escaped_mentions_text_and_tag() -> None:
    parsed = parse_command("<@U0ADA|ada> <@U0BJORN> fixed the invoice for Acme #keep-it-simple")
    assert parsed.mentions == (
        Mention("<@U0ADA|ada>", user_id="U0ADA", name="ada"),
        Mention("<@U0BJORN>", user_id="U0BJORN"),
    )
    assert parsed.text == "fixed the invoice for Acme"
    assert parsed.tag == "keep-it-simple"


def test_plain_names_with_separators_and_a_colon() -> None:
    parsed = parse_command("@ada, @bjørn: called back within the hour")
    assert [m.name for m in parsed.mentions] == ["ada", "bjørn"]
    assert all(m.user_id is None for m in parsed.mentions)
    assert parsed.text == "called back within the hour"
    assert parsed.tag is None


def test_later_mentions_and_hashtags_stay_in_the_text() -> None:
    parsed = parse_command("<@U0ADA> helped <@U0KARI> fix ticket #123 for the customer")
    assert [m.user_id for m in parsed.mentions] == ["U0ADA"]
    assert parsed.text == "helped <@U0KARI> fix ticket #123 for the customer"
    assert parsed.tag is None


def test_tag_slack_turned_into_a_channel_link() -> None:
    parsed = parse_command("@ada listened <#C0LISTEN|we-listen-and-act>")
    assert parsed.tag == "we-listen-and-act"
    assert parsed.text == "listened"


def test_mentions_only_leave_the_text_empty() -> None:
    parsed = parse_command("<@U0ADA>")
    assert parsed.text == "" and parsed.tag is None


@pytest.mark.parametrize(
    ("text", "problem", "token"),
    [
        ("thanks to everyone", "no_mention", "thanks"),
        ("<@U0ADA great job", "malformed_mention", "<@U0ADA"),
        ("<@u0ada> lower case id", "malformed_mention", "<@u0ada>"),
        ("@ great job", "malformed_mention", "@"),
        ("@ada@bjorn great", "malformed_mention", "@ada@bjorn"),
        ("<!subteam^S0CX|@cx-team> thanks", "group_mention", "<!subteam^S0CX|@cx-team>"),
        ("<!here> thanks", "group_mention", "<!here>"),
    ],
)
def test_unreadable_commands(text: str, problem: str, token: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_command(text)
    assert err.value.problem == problem
    assert err.value.token == token


def test_too_long_and_too_many() -> None:
    with pytest.raises(ParseError) as err:
        parse_command("@ada " + "x" * (MAX_TEXT + 1))
    assert err.value.problem == "too_long"
    with pytest.raises(ParseError) as err:
        parse_command(" ".join(f"<@U0P{i:03d}>" for i in range(11)) + " thanks")
    assert err.value.problem == "too_many"


@given(st.text(max_size=200))
def test_parsing_never_fails_otherwise(text: str) -> None:
    try:
        parsed = parse_command(text)
    except ParseError as exc:
        assert exc.problem in ("no_mention", "malformed_mention", "group_mention", "too_many")
        return
    assert parsed.mentions
    assert len(parsed.text) <= MAX_TEXT


# ---------------------------------------------------------------------------- names, people


def test_fold_and_slug() -> None:
    assert fold("Bjørn Ærø Åse") == "Bjorn AEro Ase"
    assert slug("Svar innen én dag!") == "svar-innen-en-dag"
    assert promise_tag("Answer within a day") == "#answer-within-a-day"


def test_resolve_name_by_username_display_real_and_first_name() -> None:
    assert [p.user_id for p in resolve_name("ada", PEOPLE)] == ["U0ADA"]
    assert [p.user_id for p in resolve_name("Bjørn", PEOPLE)] == ["U0BJORN"]
    assert [p.user_id for p in resolve_name("ada.lovelace", PEOPLE)] == ["U0ADA"]
    assert [p.user_id for p in resolve_name("AdaLovelace", PEOPLE)] == ["U0ADA"]
    # "kari" is Kari Nordmann's username: an exact key beats first names.
    assert [p.user_id for p in resolve_name("kari", PEOPLE)] == ["U0KARI"]
    assert resolve_name("nobody", PEOPLE) == []
    assert resolve_name("former", PEOPLE) == []  # deactivated members are not offered


def test_receiver_problems() -> None:
    by_id = {p.user_id: p for p in PEOPLE}
    assert receiver_problem("U0ADA", by_id["U0ADA"]) == "self"
    assert receiver_problem("U0ADA", by_id["U0BOT"]) == "bot"
    assert receiver_problem("U0ADA", by_id["U0GONE"]) == "deactivated"
    assert receiver_problem("U0ADA", by_id["U0BJORN"]) is None


# ---------------------------------------------------------------------------- limits


def test_daily_limit_counts_down_and_warns_before_the_last() -> None:
    limits = Limits(daily=3, pair_weekly=0)
    seen = [
        check_limits(given_today=n, pair_counts={}, receivers=["U0B"], limits=limits)
        for n in range(4)
    ]
    assert [a.allowed for a in seen] == [True, True, True, False]
    assert [a.remaining for a in seen[:3]] == [2, 1, 0]
    assert [a.last_one_left for a in seen] == [False, True, False, False]
    assert (seen[3].reason, seen[3].limit) == ("daily", 3)


def test_pair_limit_names_the_receiver() -> None:
    limits = Limits(daily=0, pair_weekly=2)
    ok = check_limits(given_today=9, pair_counts={"U0B": 1}, receivers=["U0B"], limits=limits)
    assert ok.allowed and ok.remaining is None
    refused = check_limits(
        given_today=0, pair_counts={"U0B": 1, "U0C": 2}, receivers=["U0B", "U0C"], limits=limits
    )
    assert (refused.allowed, refused.reason, refused.pair_user) == (False, "pair", "U0C")


def test_zero_means_no_limit() -> None:
    a = check_limits(
        given_today=1000, pair_counts={"U0B": 50}, receivers=["U0B"], limits=Limits(0, 0)
    )
    assert a.allowed and a.remaining is None


# ---------------------------------------------------------------------------- promises


def test_match_promise_by_slug_accents_prefix() -> None:
    assert match_promise("keep-it-simple", PROMISES) == "Keep it simple"
    assert match_promise("KEEPITSIMPLE", PROMISES) == "Keep it simple"
    assert match_promise("answer", PROMISES) == "Answer within a day"  # a unique prefix
    nordic = ["Svar innen én dag", "Vær ærlig"]
    assert match_promise("svar-innen-en-dag", nordic) == "Svar innen én dag"
    assert match_promise("vaer-aerlig", nordic) == "Vær ærlig"
    assert match_promise("unknown", PROMISES) is None
    assert match_promise("", PROMISES) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kari answered the customer's question within an hour", "Answer within a day"),
        ("made the signup flow much simpler", "Keep it simple"),
        ("fixed the billing issue right on the first try", "Fix it right the first time"),
        ("ate lunch", None),
        ("", None),
    ],
)
def test_suggest_promise(text: str, expected: str | None) -> None:
    assert suggest_promise(text, PROMISES) == expected
    assert suggest_promise(text, PROMISES) == suggest_promise(text, PROMISES)  # deterministic


def test_suggest_promise_without_promises() -> None:
    assert suggest_promise("anything at all", []) is None


# ---------------------------------------------------------------------------- customer praise


@pytest.mark.parametrize(
    ("metric", "score", "praise"),
    [
        ("nps", 10, True),
        ("nps", 9, True),
        ("nps", 8, False),
        ("nps", 0, False),
        ("csat", 5, True),
        ("csat", 4, False),
        ("ces", 7, True),
        ("ces", 1, False),
        ("enps", 10, False),
    ],
)
def test_is_praise(metric: str, score: int, praise: bool) -> None:
    assert is_praise(metric, score) is praise


def test_a_detractor_never_praises_even_with_odd_thresholds() -> None:
    assert is_praise("csat", 5, {"csat": 5}) is False


def test_employee_column_by_id_email_or_name() -> None:
    assert employee_receiver("U0BJORN", PEOPLE) == "U0BJORN"
    assert employee_receiver("U0NEWBIE", PEOPLE) == "U0NEWBIE"  # not in the directory yet
    assert employee_receiver("BJORN@example.com", PEOPLE) == "U0BJORN"
    assert employee_receiver("Ada Lovelace", PEOPLE) == "U0ADA"
    assert employee_receiver("U0BOT", PEOPLE) is None
    assert employee_receiver("former@example.com", PEOPLE) is None
    assert employee_receiver("stranger@example.com", PEOPLE) is None
    assert employee_receiver("  ", PEOPLE) is None


def test_names_in_a_comment() -> None:
    finder = NameFinder(PEOPLE)
    assert finder.find("Bjorn Hansen solved it in minutes, and ADA LOVELACE too") == [
        "U0BJORN",
        "U0ADA",
    ]
    # A unique first name counts when written as a name; "Kari" is two people.
    assert finder.find("Thanks to Ada for the quick answer") == ["U0ADA"]
    assert finder.find("ada helped") == []  # a single word must be written as a name
    assert finder.find("Bjørn helped, and then Ada") == ["U0BJORN", "U0ADA"]
    assert finder.find("Kari was great") == []
    assert finder.find("Kari Solberg was great") == ["U0KARI2"]
    assert finder.find("Former Colleague helped once") == []  # deactivated
    assert finder.find("Other Bot answered") == []
    assert finder.find("") == []


def test_praise_receivers_prefer_the_employee_column() -> None:
    assert praise_receivers("U0BJORN", "Ada Lovelace was nice", PEOPLE) == ("U0BJORN",)
    assert praise_receivers("stranger@example.com", "Ada Lovelace was nice", PEOPLE) == ("U0ADA",)
    assert praise_receivers(None, "Great service", PEOPLE) == ()
    assert praise_receivers(None, None, PEOPLE) == ()


# ---------------------------------------------------------------------------- leaderboard


def row(
    i: int, giver: str | None, receivers: tuple[str, ...], promise: str | None, seconds: int = 0
) -> ShoutoutRow:
    source = "customer" if giver is None else "command"
    return ShoutoutRow(i, giver, receivers, promise, seconds, source, T0)


def test_leaderboard_figures() -> None:
    rows = [
        row(1, "U0ADA", ("U0BJORN", "U0KARI"), "Keep it simple", seconds=2),
        row(2, "U0KARI", ("U0BJORN",), "keep IT simple", seconds=1),
        row(3, "U0BJORN", ("U0KARI",), "Answer within a day", seconds=4),
        row(4, None, ("U0ADA",), None),
        row(5, "U0ADA", ("U0SVEA",), "An old promise"),
        row(6, "U0ADA", ("U0OLLE", "U0OLLE"), None),
    ]
    board = leaderboard(rows, PROMISES, top=3)
    assert (board.total, board.from_customers, board.givers, board.seconds) == (6, 1, 3, 7)
    assert board.untagged == 2
    # Bjørn and Kari both have 2; Kari's seconds (2 + 4) beat Bjørn's (2 + 1).
    assert [(r.user_id, r.shoutouts, r.seconds) for r in board.top_receivers] == [
        ("U0KARI", 2, 6),
        ("U0BJORN", 2, 3),
        ("U0ADA", 1, 0),
    ]
    assert board.top_receivers[2].from_customers == 1
    assert [(p.promise, p.count) for p in board.promises_most] == [
        ("Keep it simple", 2),
        ("Answer within a day", 1),
        ("An old promise", 1),
    ]
    assert [(p.promise, p.count) for p in board.promises_least] == [
        ("Fix it right the first time", 0),
        ("Answer within a day", 1),
        ("Keep it simple", 2),
    ]
    assert [(p.promise, p.count) for p in board.promise_counts] == [
        ("Answer within a day", 1),
        ("Keep it simple", 2),
        ("Fix it right the first time", 0),
    ]


def test_leaderboard_of_an_empty_week() -> None:
    board = leaderboard([], PROMISES)
    assert (board.total, board.givers, board.top_receivers, board.promises_most) == (0, 0, (), ())
    assert [p.count for p in board.promises_least] == [0, 0, 0]
    assert leaderboard([], []).promises_least == ()


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["U1", "U2", "U3", None]),
            st.lists(st.sampled_from(["U1", "U2", "U3", "U4"]), min_size=1, max_size=3),
            st.sampled_from([*PROMISES, None]),
            st.integers(0, 5),
        ),
        max_size=30,
    )
)
def test_leaderboard_counts_add_up(data: list) -> None:
    rows = [row(i, g, tuple(r), p, s) for i, (g, r, p, s) in enumerate(data)]
    board = leaderboard(rows, PROMISES, top=10)
    assert sum(p.count for p in board.promise_counts) + board.untagged == len(rows)
    assert sum(r.shoutouts for r in board.top_receivers) == sum(len(set(r.receivers)) for r in rows)
    counts = [r.shoutouts for r in board.top_receivers]
    assert counts == sorted(counts, reverse=True)


@settings(deadline=None, max_examples=50)
@given(st.text(max_size=80))
def test_suggester_agrees_with_scikit_learn(text: str) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    promises = [*PROMISES, "Vær ærlig og rask"]
    docs = [fold(p).lower() for p in promises]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = vectorizer.fit_transform([*docs, fold(text).lower()])
    expected = cosine_similarity(matrix[len(docs)], matrix[: len(docs)])[0]
    assert PromiseSuggester(promises).scores(text) == pytest.approx(list(expected), abs=1e-9)
