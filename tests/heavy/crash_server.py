"""A real `sertel run` process for crash tests: start on a random port, notice a SIGKILL, restart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import IO, Any

import requests

SERTEL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sertel"
READY = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT = 120.0


def sertel_env(instance: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of every `sertel` process of one crash run (cheap hashing, cheap scrypt)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERTEL_")}
    env.update(
        SERTEL_ENV="testing",
        SERTEL_INSTANCE_DIR=str(instance),
        SERTEL_DATABASE_URL=database_url,
        SERTEL_ESIGN_SCRYPT_N="1024",
        SERTEL_ARGON2_TIME_COST="1",
        SERTEL_ARGON2_MEMORY_KIB="1024",
    )
    env.update(extra)
    return env


def sertel(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a one-shot `sertel` command."""
    return subprocess.run([str(SERTEL), *args], env=env, capture_output=True, text=True, timeout=600, check=False)


class Server:
    """`sertel run --port 0` with the crash fail-points armed; restarted after each kill."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.kills: Counter[str] = Counter()

    def start(self) -> None:
        """Start the server and wait until it listens (reads its log; no polling)."""
        self.process = subprocess.Popen(
            [str(SERTEL), "run", "--port", "0"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready = threading.Event()
        found: list[str] = []
        assert self.process.stderr is not None
        threading.Thread(target=_drain, args=(self.process.stderr, ready, found), daemon=True).start()
        if not ready.wait(START_TIMEOUT) or not found:
            self.stop()
            raise RuntimeError("sertel run did not start")
        self.base_url = found[0]

    def died(self, label: str) -> None:
        """The connection broke: the server must have killed itself at a fail-point; count it and restart."""
        assert self.process is not None
        code = self.process.wait(timeout=60)
        assert code == -signal.SIGKILL, f"server ended with {code}, not by the fail-point"
        self.kills[label] += 1
        self.start()

    def stop(self) -> None:
        """Stop the server started here."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)

    def request(self, method: str, path: str, label: str, make: Any, headers: dict[str, str]) -> requests.Response:
        """Send a request; if the server dies under it, restart and retry the same user action.

        `make(attempt)` builds the request's keyword arguments, so a retry can carry other data (a new
        CSR, another passphrase) as a person retrying in a browser would.
        """
        for attempt in range(20):
            try:
                return requests.request(method, self.base_url + path, headers=headers, timeout=300, **make(attempt))
            except requests.ConnectionError:
                self.died(label)
        raise AssertionError(f"{method} {path} never completed")


def _drain(stream: IO[str], ready: threading.Event, found: list[str]) -> None:
    for line in stream:
        match = READY.search(line)
        if match and not ready.is_set():
            found.append(match.group(1))
            ready.set()
    ready.set()  # the process ended before it listened
