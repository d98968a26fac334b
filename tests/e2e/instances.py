"""`cxbot serve` processes started together, as behind a load balancer: the multi-instance
test and the load and fault scripts in benchmarks/ share them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.bot.slackkit import get
from tests.e2e.test_serve import free_port


@dataclass
class Instance:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def healthy(self) -> bool:
        try:
            return get(self.url + "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def metrics(self) -> str:
        try:
            status, body = get(self.url + "/metrics", timeout=2)
        except OSError:
            return ""
        return body if status == 200 else ""

    def leads(self) -> bool:
        found = re.search(r"^cxbot_scheduler_leader (\S+)$", self.metrics(), re.MULTILINE)
        return found is not None and float(found.group(1)) == 1

    def kill(self) -> None:
        """Die as a crashed machine would: no goodbye, connections simply gone."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@contextmanager
def start_instances(
    env: dict[str, str],
    n: int,
    workdir: Path,
    timeout: float = 90.0,
    extra_args: tuple[str, ...] = (),
) -> Iterator[list[Instance]]:
    """`n` instances started at once with `env` (they race to migrate), each healthy
    within `timeout` seconds; stopped with SIGTERM afterwards (SIGKILL if they hang).
    `extra_args` go to `cxbot serve` (e.g. `--workers 2`)."""
    started: list[Instance] = []
    try:
        for i in range(n):
            port = free_port()
            log = workdir / f"instance{i}.log"
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    *extra_args,
                ],
                cwd=workdir,
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            started.append(Instance(proc, f"http://127.0.0.1:{port}", log))
        deadline = time.monotonic() + timeout
        for inst in started:
            while not inst.healthy():
                if not inst.alive():
                    raise RuntimeError(f"an instance exited: see {inst.log}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"an instance did not become healthy: see {inst.log}")
                time.sleep(0.2)
        yield started
    finally:
        for inst in started:
            if inst.alive():
                os.killpg(inst.proc.pid, signal.SIGTERM)
        for inst in started:
            try:
                inst.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(inst.proc.pid, signal.SIGKILL)
                inst.proc.wait()
