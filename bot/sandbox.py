"""`cxbot sandbox`: the whole bot on this machine, with no Slack account.

A local Slack-compatible server (bot.localslack) stands in for Slack; the real Bolt app
is served over HTTP on a free port, as in production; the database is the configured
one. A terminal loop sends what you type as signed Slack requests, and everything the
bot posts is printed as it arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
import shlex
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.localslack.formatting import should_escape
from bot.settings import Settings
from bot.views.text import Button, Input, Names, Rendered, indent, render_message, render_view

DEFAULT_USER = "U0ADA"
DEFAULT_CHANNEL = "C0GENERAL"
INSIGHT_SHORTCUT = "save_insight"  # manifest.yml's message shortcut
REPLY_WAIT_SECONDS = 4.0  # how long to wait for the bot's first reply before prompting again
QUIET_SECONDS = 0.3  # then, how long the bot must stay silent before the prompt returns

BANNER = """\
cxbot sandbox: the real bot, a local stand-in for Slack and your database; no Slack account.
Type slash commands as in Slack (/cx help, /insight ..., /shoutout @bjorn ...); :help for more.
Leave with :quit or Ctrl-D."""

HELP = """\
  /command text        send a slash command as the current user in the current channel
  :home                open the current user's App Home tab
  :press N             press button [N] of the last message or view shown
  :press M N           press button [N] of message (M) (every message shows its number)
  :submit f=v ...      submit your open form (f: a field's number or [name]; "quote spaces")
  :say text            write a message in the current channel as the current user
  :shortcut M          "Save as customer insight" on message (M)
  :react M emoji       react to message (M) with :emoji: as the current user
  :demo alert [text]   a customer answers NPS 2 just now: a fresh detractor alert
  :user NAME           act as another user (name or id);  :users  lists them
  :lang nb|da|sv|en    set the current user's Slack language
  :channel NAME        post commands from another channel;  :channels  lists them
  :read #channel       print a channel's messages;  :read @user  that person's DMs from cxbot
  :dms                 whose DMs have messages;  :read  alone reads your own
  :quit                leave (Ctrl-D too)"""

# What a new sandbox workspace is wired with (the demo workspace's channels).
SANDBOX_CONFIG = {
    "alerts.channel": "C0ALERTS",
    "alerts.escalation_channel": "C0ESCAL",
    "digest.channel": "C0DIGEST",
    "insights.channel": "C0INSIGHT",
    "shoutouts.channel": "C0SHOUT",
}
STATE_FILE_SUFFIX = ".sandbox.json"  # beside the database: the local Slack's history
DEMO_DETRACTOR_TEXT = "The invoice was wrong again and nobody called me back."

SLACK_LOCALES = {"en": "en-US", "nb": "nb-NO", "da": "da-DK", "sv": "sv-SE"}


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class _Shown:
    """A message or view printed at the terminal (what `:press`, `:shortcut`, `:react` act on)."""

    buttons: list[Button]
    message: dict[str, Any] | None = None
    view: dict[str, Any] | None = None
    ephemeral: bool = False
    number: int = 0


@dataclass
class _Output:
    count: int = 0
    last_at: float = 0.0
    cond: threading.Condition = field(default_factory=threading.Condition)


class Sandbox:
    """The running sandbox: LocalSlack, the bot's HTTP server and the terminal state."""

    def __init__(self, settings: Settings, *, out: TextIO | None = None) -> None:
        self.base_settings = settings
        self.out = out or sys.stdout
        self.user = DEFAULT_USER
        self.channel = DEFAULT_CHANNEL
        self.shown: _Shown | None = None  # the last one with buttons
        self.numbered: list[_Shown] = []  # everything printed, by its number
        # Each person has their own open form, as in Slack.
        self.modals: dict[str, tuple[dict[str, Any], list[Input]]] = {}
        self._state_lock = threading.Lock()
        self._output = _Output()
        self._print_lock = threading.Lock()
        self._prompting = False
        self._stops: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ start / stop

    def start(self) -> None:
        from bot.app import create_app
        from bot.background import start_background, stop_background
        from bot.commands.common import engine as open_engine
        from bot.localslack import LocalSlack
        from bot.services import Services
        from bot.web import WebApp
        from core.analyzer import make_analyzer

        self.slack = LocalSlack.demo(rate_limits=True)
        self.state_path = state_path(self.base_settings.database_url)
        first_start = not (self.state_path and self.state_path.exists())
        self._load_state()
        self.slack.start()
        self._stops.append(self.slack.stop)
        self._stops.append(self.save_state)
        self.signing_secret = secrets.token_hex(16)
        self.settings = self.base_settings.model_copy(
            update={
                "slack_api_url": self.slack.base_url,
                "slack_bot_token": self.slack.bot_token,
                "slack_app_token": None,
                "slack_signing_secret": self.signing_secret,
            }
        )
        self.team_id = self.slack.team_id
        engine = open_engine(self.settings)
        self._stops.append(engine.dispose)
        self.services = Services(
            settings=self.settings,
            engine=engine,
            analyzer=make_analyzer(
                self.settings.openai_api_key,
                self.settings.openai_base_url,
                self.settings.openai_model,
            ),
        )
        if first_start:
            self._wire()
        self._seed()
        app = create_app(self.settings, self.services)
        httpd = make_server(
            "127.0.0.1",
            0,
            WebApp(self.services, app),
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        thread.start()
        self._stops.append(httpd.server_close)
        self._stops.append(httpd.shutdown)
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}/slack/events"
        start_background(self.services)
        self._stops.append(lambda: stop_background(self.services))
        self.slack.subscribe(self._on_slack)

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # leaving must never end in a traceback
                self.print(f"(while stopping: {exc})")

    def _wire(self) -> None:
        """A new sandbox workspace has every channel and the promises set, and a pulse
        ready to send: what an admin would set up first (never over their own choice)."""
        from core.demo import PROMISES
        from storage import settings_store
        from storage.surveys import create_survey, list_surveys

        engine, team = self.services.engine, self.team_id
        stored = settings_store.get_settings(engine, team_id=team)
        wanted = {**SANDBOX_CONFIG, "promises": "; ".join(PROMISES)}
        for key, value in wanted.items():
            if key not in stored:
                settings_store.set(engine, team_id=team, key=key, value=value)
        if not list_surveys(engine, team_id=team, active_only=False):
            create_survey(
                engine,
                team_id=team,
                definition=_sandbox_pulse(),
                created_by=DEFAULT_USER,
                now=self.services.clock(),
            )

    def _load_state(self) -> None:
        path = self.state_path
        if path is None or not path.exists():
            return
        try:
            self.slack.restore(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.print(f"(the sandbox's message history in {path} could not be read: {exc})")

    def save_state(self) -> None:
        """Keep the local Slack's channels, DMs and Home tabs for the next start."""
        path = self.state_path
        if path is None:
            return
        with self._state_lock:
            temp = path.with_name(path.name + ".tmp")
            temp.write_text(json.dumps(self.slack.state(), default=str), encoding="utf-8")
            temp.replace(path)

    def _seed(self) -> None:
        from storage.home_queries import has_responses

        if has_responses(self.services.engine, team_id=self.team_id):
            return
        from bot.demo import seed
        from bot.handlers.metrics.report import workspace_tz

        self.print("First start: filling the database with a year of demo data ...")
        tz = workspace_tz(
            self.services.engine, team_id=self.team_id, default=self.settings.cxbot_timezone
        )
        summary = seed(self.services.engine, team_id=self.team_id, tz=tz, now=self.services.clock())
        self.print(_describe_seed(summary))

    # ------------------------------------------------------------------ terminal

    @property
    def prompt(self) -> str:
        return f"{self._user_name(self.user)} in {self._names().channel(self.channel)}> "

    def run(self) -> None:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        self.print(BANNER)
        while True:
            self._prompting = True
            try:
                line = input(self.prompt)
            except EOFError:
                self.print("")
                break
            except KeyboardInterrupt:
                self.print("")
                continue
            finally:
                self._prompting = False
            try:
                if not self.handle(line.strip()):
                    break
            except KeyboardInterrupt:
                self.print("(interrupted)")

    def handle(self, line: str) -> bool:
        """Run one typed line; False means leave."""
        if not line:
            return True
        if line.startswith("/"):
            self.command(line)
            return True
        if not line.startswith(":"):
            self.print("Type a slash command such as /cx help, or :help.")
            return True
        name, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        actions: dict[str, Callable[[str], Any]] = {
            "help": lambda _r: self.print(HELP),
            "home": lambda _r: self.open_home(),
            "press": self.press,
            "submit": self.submit,
            "user": self.switch_user,
            "users": lambda _r: self.list_users(),
            "lang": self.set_language,
            "channel": self.switch_channel,
            "channels": lambda _r: self.list_channels(),
            "read": self.read_channel,
            "dms": lambda _r: self.list_dms(),
            "say": self.say,
            "shortcut": self.shortcut,
            "react": self.react,
            "demo": self.demo,
        }
        if name in ("quit", "exit", "q"):
            return False
        action = actions.get(name.lower())
        if action is None:
            self.print(f"unknown sandbox command :{name} (see :help)")
            return True
        action(rest)
        self.save_state()
        return True

    def print(self, text: str) -> None:
        """Print without mangling a half-typed line at the prompt."""
        with self._print_lock:
            if self._prompting and self.out.isatty():
                try:
                    import readline

                    typed = readline.get_line_buffer()
                except ImportError:
                    typed = ""
                self.out.write(f"\r\x1b[K{text}\n{self.prompt}{typed}")
            else:
                self.out.write(text + "\n")
            self.out.flush()

    # ------------------------------------------------------------------ what the bot posts

    def _on_slack(self, kind: str, item: dict[str, Any]) -> None:
        names = self._names()
        if kind in ("message", "update"):
            where = names.channel(str(item.get("channel", "")))
            if str(item.get("channel", "")).startswith("D"):
                where = f"DM {self._dm_user(str(item['channel']))}"
            if item.get("deleted"):
                self._emit(f"{where}  (cxbot deleted a message)")
                return
            rendered = render_message(item, names)
            if not rendered.text.strip() and item.get("files"):
                return  # a shared file: its "file" record says what it is
            label = "cxbot (edited)" if kind == "update" else "cxbot"
            thread = "  (in thread)" if item.get("thread_ts") not in (None, item.get("ts")) else ""
            self._emit_rendered(f"{where}{thread}  {label}:", rendered, message=item)
        elif kind == "ephemeral":
            where = names.channel(str(item.get("channel", "")))
            who = "you" if item.get("user") == self.user else names.user(str(item.get("user")))
            rendered = render_message(item, names)
            self._emit_rendered(
                f"{where}  cxbot (only {who} can see this):", rendered, message=item, ephemeral=True
            )
        elif kind == "modal":
            owner = str(item.get("user") or self.user)
            rendered = render_view(item, names)
            self.modals[owner] = (item, rendered.inputs)
            self._emit_rendered(f"form for {names.user(owner)}:", rendered, view=item)
        elif kind == "home" and item.get("user") == self.user:
            self._emit_rendered("App Home:", render_view(item, names), view=item)
        elif kind == "file":
            title = item.get("title") or item.get("name") or "file"
            self._emit(f"cxbot uploaded {title} ({item.get('size', '?')} bytes)")

    def _emit_rendered(
        self,
        head: str,
        rendered: Rendered,
        *,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        ephemeral: bool = False,
    ) -> None:
        shown = _Shown(
            rendered.buttons,
            message=message,
            view=view,
            ephemeral=ephemeral,
            number=len(self.numbered) + 1,
        )
        self.numbered.append(shown)
        if rendered.buttons:
            self.shown = shown
        self._emit(f"({shown.number}) {head}\n" + indent(rendered.text))

    def _emit(self, text: str) -> None:
        self.print(text)
        with self._output.cond:
            self._output.count += 1
            self._output.last_at = time.monotonic()
            self._output.cond.notify_all()

    def _wait_for_output(self, seen: int, timeout: float = REPLY_WAIT_SECONDS) -> bool:
        """Wait for the bot to say something after `seen`, then for it to fall quiet."""
        deadline = time.monotonic() + timeout
        with self._output.cond:
            if not self._output.cond.wait_for(
                lambda: self._output.count > seen, max(0.0, deadline - time.monotonic())
            ):
                return False
            while True:
                quiet_until = self._output.last_at + QUIET_SECONDS
                now = time.monotonic()
                if now >= quiet_until or now >= deadline + 2:
                    return True
                self._output.cond.wait(quiet_until - now)

    # ------------------------------------------------------------------ requests to the bot

    def _send(self, body: str, content_type: str) -> tuple[int, str]:
        ts = str(int(time.time()))
        base = f"v0:{ts}:{body}".encode()
        signature = "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except OSError as exc:
            return 0, str(exc)

    def _interactive(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self._send(body, "application/x-www-form-urlencoded")

    def _user_obj(self) -> dict[str, Any]:
        name = self._user_name(self.user)
        return {"id": self.user, "username": name, "name": name, "team_id": self.team_id}

    def command(self, line: str) -> None:
        command, _, text = line.partition(" ")
        # Encoded as Slack encodes a command's text: the bot decodes it as it would Slack's.
        text = self.slack.command_text(text, should_escape=should_escape(command))
        form = {
            "token": "sandbox",
            "team_id": self.team_id,
            "team_domain": "local",
            "channel_id": self.channel,
            "channel_name": self._names().channel(self.channel).lstrip("#"),
            "user_id": self.user,
            "user_name": self._user_name(self.user),
            "command": command,
            "text": text,
            "api_app_id": getattr(self.slack, "app_id", "A0CXBOT"),
            "is_enterprise_install": "false",
            "response_url": self.slack.response_url(self.channel, self.user),
            "trigger_id": self.slack.new_trigger_id(self.user),
        }
        seen = self._output.count
        status, body = self._send(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")
        if not self._show_ack(status, body):
            return
        self._wait_for_output(seen)

    def _show_ack(self, status: int, body: str) -> bool:
        """Print what the bot put in its acknowledgement; False when the request failed."""
        if status != 200:
            self.print(f"(the bot answered HTTP {status}: {body[:200]})")
            return False
        if not body.strip():
            return True
        try:
            data = json.loads(body)
        except ValueError:
            self._emit(f"cxbot (only you can see this):\n{indent(body)}")
            return True
        if isinstance(data, dict) and (data.get("text") or data.get("blocks")):
            rendered = render_message(data, self._names())
            self._emit_rendered("cxbot (only you can see this):", rendered, message=data)
        return True

    def open_home(self) -> None:
        seen = self._output.count
        event = {
            "type": "app_home_opened",
            "user": self.user,
            "channel": "D" + self.user.lstrip("UW"),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        status, body = self._event(event)
        if status != 200:
            self.print(f"(the bot answered HTTP {status}: {body[:200]})")
            return
        if not self._wait_for_output(seen, timeout=10):
            self.print("(the bot published no Home view)")

    def _numbered(self, ref: str) -> _Shown | None:
        ref = ref.strip().strip("()")
        if not ref.isdigit() or not 1 <= int(ref) <= len(self.numbered):
            self.print(f"no message ({ref}) shown yet (every message shows its number)")
            return None
        return self._latest(self.numbered[int(ref) - 1])

    def _latest(self, shown: _Shown) -> _Shown:
        """A channel message as it is now (claimed, resolved ...)."""
        message = shown.message or {}
        channel, ts = str(message.get("channel") or ""), str(message.get("ts") or "")
        if shown.ephemeral or not channel or not ts:
            return shown
        for now in self.slack.messages(channel):
            if now.get("ts") == ts:
                # The buttons as printed (what the person chose from); the bot checks
                # whether what they ask for still applies.
                return _Shown(shown.buttons, message=now, number=shown.number)
        return shown

    def press(self, rest: str) -> None:
        words = rest.replace(".", " ").split()
        if not words or len(words) > 2 or not all(w.strip("()").isdigit() for w in words):
            self.print("usage: :press N  or  :press M N  (message (M), button [N])")
            return
        if len(words) == 2:
            shown = self._numbered(words[0])
            if shown is None:
                return
            where = f"message ({shown.number})"
        else:
            shown, where = self.shown, "the last message or view shown"
        number = int(words[-1].strip("()"))
        button = next((b for b in shown.buttons if b.number == number), None) if shown else None
        if shown is None or button is None:
            self.print(f"no button [{number}] on {where}")
            return
        if button.url and button.type == "button" and not button.action_id:
            self.print(f"(a link: {button.url})")
            return
        action = {
            "type": button.type,
            "action_id": button.action_id,
            "block_id": button.block_id,
            "text": {"type": "plain_text", "text": button.text, "emoji": True},
            "action_ts": f"{time.time():.6f}",
        }
        if button.value is not None:
            action["value"] = button.value
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_obj(),
            "api_app_id": getattr(self.slack, "app_id", "A0CXBOT"),
            "token": "sandbox",
            "team": {"id": self.team_id, "domain": "local"},
            "trigger_id": self.slack.new_trigger_id(self.user),
            "actions": [action],
            "state": {"values": {}},
        }
        if shown.view is not None:
            view = shown.view
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        else:
            message = dict(shown.message or {})
            channel = str(message.get("channel") or self.channel)
            ts = str(message.get("ts") or message.get("message_ts") or "")
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": shown.ephemeral,
            }
            payload["channel"] = {"id": channel, "name": self._names().channel(channel).lstrip("#")}
            if not shown.ephemeral:
                payload["message"] = {k: v for k, v in message.items() if k != "channel"}
            payload["response_url"] = self.slack.response_url(
                channel, self.user, message_ts=ts or None
            )
        seen = self._output.count
        status, body = self._interactive(payload)
        if self._show_ack(status, body):
            self._wait_for_output(seen, timeout=2)

    def submit(self, rest: str) -> None:
        open_form = self.modals.get(self.user)
        if open_form is None:
            self.print(f"no form is open for {self._names().user(self.user)}")
            return
        modal, inputs = open_form
        try:
            pairs = shlex.split(rest)
        except ValueError as exc:
            self.print(f"cannot read that: {exc}")
            return
        answers: dict[str, str] = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            target = _find_input(inputs, key)
            if not eq or target is None:
                fields = ", ".join(f"{i.number}/{i.block_id}" for i in inputs)
                self.print(f"{pair!r}: expected field=value with a field of: {fields}")
                return
            answers[target.block_id] = value
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "local"},
            "user": self._user_obj(),
            "api_app_id": getattr(self.slack, "app_id", "A0CXBOT"),
            "token": "sandbox",
            "trigger_id": self.slack.new_trigger_id(self.user),
            "view": {
                **modal,
                "state": {"values": state_values(inputs, answers)},
            },
            "response_urls": [],
        }
        seen = self._output.count
        status, body = self._interactive(payload)
        if status != 200:
            self.print(f"(the bot answered HTTP {status}: {body[:200]})")
            return
        data = json.loads(body) if body.strip() else {}
        action = data.get("response_action") if isinstance(data, dict) else None
        if action == "errors":
            for block_id, message in (data.get("errors") or {}).items():
                self.print(f"  [{block_id}] {message}")
            return
        if action in ("update", "push"):
            view = {**modal, **data.get("view", {})}
            self._on_slack("modal", view)
            return
        self.slack.close_view(str(modal.get("id")))
        self.modals.pop(self.user, None)
        self.print("(form sent)")
        self._wait_for_output(seen, timeout=2)

    # ------------------------------------------------------------------ people and channels

    def _names(self) -> Names:
        users = {u["id"]: u["name"] for u in self.slack.users()}
        channels = {c["id"]: c.get("name", c["id"]) for c in self.slack.channels() if c.get("name")}
        return Names(users, channels)

    def _user_name(self, user_id: str) -> str:
        return self._names().users.get(user_id, user_id)

    def _dm_user(self, channel: str) -> str:
        for c in self.slack.channels():
            if c["id"] == channel and c.get("user"):
                return "@" + self._user_name(str(c["user"]))
        return channel

    def _find_user(self, ref: str) -> dict[str, Any] | None:
        ref = ref.lstrip("@").lower()
        for u in self.slack.users():
            if ref in (u["id"].lower(), u["name"].lower()):
                return u
        return None

    def switch_user(self, rest: str) -> None:
        user = self._find_user(rest) if rest else None
        if user is None or user.get("is_bot") or user.get("deleted"):
            self.print(f"no such active person: {rest!r} (see :users)")
            return
        self.user = user["id"]
        self.print(f"you are now @{user['name']} ({user['id']}, {user.get('locale')})")

    def list_users(self) -> None:
        for u in self.slack.users():
            if u.get("is_bot"):
                continue
            flags = " (deactivated)" if u.get("deleted") else ""
            flags += " admin" if u.get("is_admin") else ""
            mark = "*" if u["id"] == self.user else " "
            locale, tz = u.get("locale", ""), u.get("tz", "")
            self.print(f"{mark} @{u['name']:<10} {u['id']:<10} {locale:<6} {tz}{flags}")

    def set_language(self, rest: str) -> None:
        from bot.i18n import forget_user_locale

        code = rest.strip().lower()
        if code not in SLACK_LOCALES:
            self.print("usage: :lang en|nb|da|sv")
            return
        user = self._find_user(self.user)
        assert user is not None
        self.slack.add_user(
            user["id"],
            user["name"],
            real_name=user.get("real_name"),
            locale=SLACK_LOCALES[code],
            tz=user.get("tz") or "Europe/Oslo",
            is_admin=bool(user.get("is_admin")),
            email=(user.get("profile") or {}).get("email"),
        )
        forget_user_locale(user["id"])
        self.print(f"@{user['name']} now reads Slack in {SLACK_LOCALES[code]}")

    def switch_channel(self, rest: str) -> None:
        ref = rest.lstrip("#").lower()
        for c in self.slack.channels():
            if c.get("name") and ref in (c["id"].lower(), str(c["name"]).lower()):
                self.channel = c["id"]
                self.print(f"commands now come from #{c['name']}")
                return
        self.print(f"no such channel: {rest!r} (see :channels)")

    def list_channels(self) -> None:
        for c in self.slack.channels():
            if not c.get("name"):
                continue
            count = len(self.slack.messages(c["id"]))
            self.print(f"  #{c['name']:<16} {c['id']:<12} {count} message(s)")

    def list_dms(self) -> None:
        found = False
        for c in self.slack.channels():
            if not c.get("is_im") or not c.get("user"):
                continue
            count = len(self.slack.messages(c["id"]))
            if count:
                found = True
                self.print(f"  @{self._user_name(str(c['user'])):<12} {count} message(s)")
        if not found:
            self.print("cxbot has sent no direct messages yet")
        else:
            self.print("(:read @name reads one)")

    def read_dms(self, rest: str) -> None:
        user = self._find_user(rest) if rest.strip("@") else self._find_user(self.user)
        if user is None:
            self.print(f"no such person: {rest!r} (see :users)")
            return
        messages = self.slack.messages(user["id"])
        if not messages:
            self.print(f"cxbot has sent @{user['name']} no direct messages yet")
            return
        names = self._names()
        for message in messages[-20:]:
            self._emit_rendered(
                f"DM @{user['name']}  cxbot:", render_message(message, names), message=message
            )

    def read_channel(self, rest: str) -> None:
        if not rest or rest.startswith("@"):
            self.read_dms(rest)
            return
        ref = rest.lstrip("#").lower()
        channel = next(
            (
                c
                for c in self.slack.channels()
                if c.get("name") and ref in (c["id"].lower(), str(c["name"]).lower())
            ),
            None,
        )
        if channel is None:
            self.print(f"no such channel: {rest!r} (see :channels)")
            return
        # As Slack shows a channel: replies stay in their threads.
        messages = [
            m
            for m in self.slack.messages(channel["id"])
            if m.get("thread_ts") in (None, m.get("ts"))
        ]
        if not messages:
            self.print(f"#{channel['name']} has no messages yet")
            return
        names = self._names()
        for message in messages[-20:]:
            rendered = render_message(message, names)
            self._emit_rendered(f"#{channel['name']}  cxbot:", rendered, message=message)

    # ------------------------------------------------------------------ what people do

    def say(self, rest: str) -> None:
        if not rest:
            self.print("usage: :say text")
            return
        message = self.slack.post_as(self.user, self.channel, rest)
        names = self._names()
        head = f"{names.channel(self.channel)}  {names.user(self.user)}:"
        self._emit_rendered(head, render_message(message, names), message=message)

    def _message_ref(self, ref: str) -> dict[str, Any] | None:
        shown = self._numbered(ref)
        if shown is None:
            return None
        message = shown.message or {}
        if shown.view is not None or shown.ephemeral or not message.get("ts"):
            self.print(f"({shown.number}) is not a message in a channel or DM")
            return None
        return message

    def shortcut(self, rest: str) -> None:
        message = self._message_ref(rest)
        if message is None:
            return
        channel = str(message["channel"])
        payload: dict[str, Any] = {
            "type": "message_action",
            "callback_id": INSIGHT_SHORTCUT,
            "user": self._user_obj(),
            "team": {"id": self.team_id, "domain": "local"},
            "api_app_id": getattr(self.slack, "app_id", "A0CXBOT"),
            "token": "sandbox",
            "trigger_id": self.slack.new_trigger_id(self.user),
            "action_ts": f"{time.time():.6f}",
            "message_ts": message["ts"],
            "channel": {"id": channel, "name": self._names().channel(channel).lstrip("#")},
            "message": {k: v for k, v in message.items() if k != "channel"},
            "response_url": self.slack.response_url(channel, self.user),
        }
        seen = self._output.count
        status, body = self._interactive(payload)
        if self._show_ack(status, body):
            self._wait_for_output(seen)

    def react(self, rest: str) -> None:
        ref, _, emoji = rest.partition(" ")
        emoji = emoji.strip().strip(":")
        if not emoji:
            self.print("usage: :react M emoji  (e.g. :react 3 tada)")
            return
        message = self._message_ref(ref)
        if message is None:
            return
        channel, ts = str(message["channel"]), str(message["ts"])
        if not self.slack.react_as(self.user, channel, ts, emoji):
            self.print(f"(already reacted with :{emoji}:)")
            return
        event = {
            "type": "reaction_added",
            "user": self.user,
            "reaction": emoji,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "item_user": message.get("user"),
            "event_ts": f"{time.time():.6f}",
        }
        status, body = self._event(event)
        if status != 200:
            self.print(f"(the bot answered HTTP {status}: {body[:200]})")
            return
        self.print(f"(you reacted :{emoji}: to ({ref.strip('()')}))")

    def _event(self, event: dict[str, Any]) -> tuple[int, str]:
        """`event` sent to the bot as Slack's Events API wraps it."""
        envelope = {
            "token": "sandbox",
            "team_id": self.team_id,
            "api_app_id": getattr(self.slack, "app_id", "A0CXBOT"),
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(8).upper(),
            "event_time": int(time.time()),
            "authorizations": [{"team_id": self.team_id, "user_id": self.slack.bot_user_id}],
        }
        return self._send(json.dumps(envelope), "application/json")

    def demo(self, rest: str) -> None:
        what, _, text = rest.partition(" ")
        if what.lower() != "alert":
            self.print("usage: :demo alert [what the customer wrote]")
            return
        from core.ingest import validate_response_objects
        from storage.responses import insert_responses

        now = self.services.clock()
        answer = {
            "responded_at": now.isoformat(),
            "metric": "nps",
            "score": 2,
            "comment": text.strip() or DEMO_DETRACTOR_TEXT,
            "customer_id": f"sandbox-{secrets.token_hex(3)}",
            "segment": "Private",
            "touchpoint": "Billing",
            "response_id": f"sandbox-{secrets.token_hex(6)}",
        }
        frame, rejected = validate_response_objects([answer], self.settings.tz, now=now)
        if rejected:
            self.print(f"(could not make the answer: {rejected[0]})")
            return
        seen = self._output.count
        insert_responses(self.services.engine, team_id=self.team_id, frame=frame, source="sandbox")
        self.print("(a customer answered NPS 2 just now)")
        if not self._wait_for_output(seen, timeout=10):
            self.print("(no alert posted: is alerts.channel set? /cx config show)")


def state_path(database_url: str) -> Path | None:
    """Where the sandbox keeps its local Slack history: beside a SQLite file, else in the
    working directory; None for an in-memory database."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        path = Path(database)
        return path.with_name(path.name + STATE_FILE_SUFFIX)
    return Path.cwd() / ("cxbot" + STATE_FILE_SUFFIX)


def _sandbox_pulse() -> Any:
    from core.surveys import parse_definition

    return parse_definition(
        {
            "template": "culture",
            "audience": "C0GENERAL",
            "schedule": {"repeat": "once"},
            "min_answers_to_show": 5,
        }
    )


def _describe_seed(summary: Any) -> str:
    answers, customers = getattr(summary, "answers", None), getattr(summary, "customers", None)
    weeks, dip = getattr(summary, "weeks", None), getattr(summary, "dip_weeks", None)
    if answers is None or customers is None:
        return f"Demo data ready: {summary}"
    text = f"Demo data ready: {answers} answers from {customers} customers over {weeks} weeks"
    if dip:
        text += f"; look for the dip in {dip[0]} to {dip[-1]}"
    return text + "."


def _find_input(inputs: list[Input], key: str) -> Input | None:
    for item in inputs:
        if key in (str(item.number), item.block_id, item.action_id):
            return item
    return None


def state_values(inputs: list[Input], answers: Mapping[str, str]) -> dict[str, Any]:
    """`view.state.values` as Slack sends it for the given answers (block_id -> text)."""
    values: dict[str, Any] = {}
    for item in inputs:
        raw = answers.get(item.block_id, item.initial)
        values[item.block_id] = {item.action_id: _element_state(item, raw)}
    return values


def _element_state(item: Input, raw: str | None) -> dict[str, Any]:
    kind = item.type
    state: dict[str, Any] = {"type": kind}
    many = [v.strip() for v in (raw or "").split(",") if v.strip()]
    labels = dict(item.options)

    def option(value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": labels.get(value, value)}, "value": value}

    if kind in ("static_select", "radio_buttons", "external_select"):
        state["selected_option"] = option(raw) if raw else None
    elif kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        state["selected_options"] = [option(v) for v in many]
    elif kind == "users_select":
        state["selected_user"] = raw or None
    elif kind == "multi_users_select":
        state["selected_users"] = many
    elif kind == "conversations_select":
        state["selected_conversation"] = raw or None
    elif kind == "channels_select":
        state["selected_channel"] = raw or None
    elif kind == "multi_conversations_select":
        state["selected_conversations"] = many
    elif kind == "multi_channels_select":
        state["selected_channels"] = many
    elif kind == "datepicker":
        state["selected_date"] = raw or None
    elif kind == "timepicker":
        state["selected_time"] = raw or None
    else:
        state["value"] = raw if raw else None
    return state


def main(settings: Settings) -> None:
    """`cxbot sandbox` (and `cxbot run` without Slack tokens)."""
    import logging

    # Log lines would tear through the terminal conversation; warnings still show.
    logging.basicConfig(level=logging.WARNING, format="(log) %(name)s: %(message)s")
    sandbox = Sandbox(settings)
    try:
        sandbox.start()
        sandbox.run()
    finally:
        sandbox.stop()
