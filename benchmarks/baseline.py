"""`--baseline REV` of benchmarks/ack.py and benchmarks/load.py: the same measurement on an
earlier commit's code, then on this checkout's, in one run.

REV is checked out in a temporary `git worktree` (removed afterwards, also when the run
fails). Its `cxbot serve` runs on the same interpreter and virtualenv, with the worktree
first on PYTHONPATH: the editable install of cxbot in the virtualenv comes after it, so
the process imports REV's `bot`, which `served_code` checks before anything is measured.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def describe(rev: str, tree: Path = ROOT) -> str:
    """The short commit id of `rev` in `tree` (raises SystemExit when it is not one)."""
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"--baseline {rev}: not a commit of {tree} ({done.stderr.strip()})")
    return done.stdout.strip()


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """REV checked out (detached) in a temporary directory, removed on the way out (on an
    error, Ctrl-C or SIGTERM too)."""
    describe(rev)

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    parent = Path(tempfile.mkdtemp(prefix="cxbot-baseline-"))
    tree = parent / "tree"
    try:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev],
            check=True,
        )
        yield tree
    finally:
        if tree.exists():
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
            )
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)
        shutil.rmtree(parent, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def served_code(tree: Path, env: Mapping[str, str], cwd: str | Path) -> Path:
    """Where the `bot` package of a `python -m bot.cli serve` started with `env` in `cwd`
    comes from (the same interpreter, path and environment); SystemExit unless inside
    `tree`."""
    done = subprocess.run(
        [sys.executable, "-c", "import bot.cli, bot; print(bot.__file__)"],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"cannot import bot from {tree}:\n{done.stderr}")
    found = Path(done.stdout.strip()).resolve()
    if not found.is_relative_to(tree.resolve()):
        raise SystemExit(f"the served process would import {found}, not the code of {tree}")
    return found


def tree_env(env: Mapping[str, str], tree: Path) -> dict[str, str]:
    """`env` with `tree` as the code on PYTHONPATH (in place of this checkout)."""
    return {**env, "PYTHONPATH": str(tree)}


def ratio(after: float, before: float) -> str:
    return f"{after / before:.2f}x" if before else "n/a"


def load_average() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
