"""`/cx goal`: anyone lists the goals; admins set (`nps 40 by 2027-Q2`) and remove them.
The rules are core.goals, the table storage.goals, the progress `progress`."""

from __future__ import annotations

from bot.admins import is_admin
from bot.errors import UserError
from bot.handlers.cx.call import CxCall, shown
from bot.handlers.goals import blocks
from bot.handlers.goals.progress import current_values, workspace_goals
from bot.i18n import N_
from core import goals
from storage import goals as stored
from storage import settings_store

ADMINS_ONLY = N_(
    "Only admins can set and remove goals: the workspace's admins and owners, and the "
    "people named in CXBOT_ADMINS. `/cx goal` shows the goals to everyone."
)


def goal_subcommand(call: CxCall) -> None:
    try:
        command = goals.parse_command(call.args)
    except goals.GoalError as exc:
        raise _refusal(exc) from None
    services, t = call.services, call.t
    tz = settings_store.load(services.engine, team_id=call.team_id).zone(
        services.settings.cxbot_timezone
    )
    now = services.clock()
    if isinstance(command, goals.ListGoals):
        found = workspace_goals(services, call.team_id, tz, now)
        text = "\n".join(blocks.goal_lines(found, t)) or t.gettext(blocks.NO_GOALS)
        call.reply(text, blocks.list_blocks(found, t))
        return
    if not is_admin(services, call.client, call.user_id):
        raise UserError(ADMINS_ONLY)
    metric = command.metric.upper()
    if isinstance(command, goals.RemoveGoal):
        removed = stored.remove_goal(services.engine, team_id=call.team_id, metric=command.metric)
        call.reply(t.gettext(blocks.REMOVED if removed else blocks.NOT_FOUND, metric=metric))
        return
    try:
        due = goals.due_at(command.deadline, tz, now)
    except goals.GoalError as exc:
        raise _refusal(exc) from None
    month, values = current_values(services.engine, call.team_id, tz, now)
    before = {g.metric: g for g in stored.goals(services.engine, team_id=call.team_id)}
    goal = goals.Goal(
        metric=command.metric,
        target=command.target,
        baseline=values[command.metric],
        set_at=now,
        deadline_at=due,
        deadline_label=command.deadline.label,
        set_by=call.user_id,
    )
    stored.set_goal(services.engine, team_id=call.team_id, goal=goal)
    progress = goals.progress(goal, values[command.metric], month.label(), now)
    text = blocks.set_text(progress, before.get(command.metric), t, tz)
    call.reply(text, blocks.text_blocks(text))


def _refusal(exc: goals.GoalError) -> UserError:
    """The rule's refusal for the reader, with what they typed shown safely."""
    values = {k: shown(v) if isinstance(v, str) else v for k, v in exc.values.items()}
    return UserError(exc.msgid, numbers=exc.numbers, **values)
