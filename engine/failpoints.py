"""Crash fail-points for tests: die right after a PSrE call returned, before the RA's transaction commits."""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Every PSrE call that changes something at the PSrE (sign_pdf counts attempts and may LOCK).
MUTATING = (
    "register_subject",
    "issue_from_csr",
    "issue_with_server_key",
    "renew",
    "reissue",
    "reset_subject",
    "revoke",
    "sign_pdf",
)


def kill_self() -> None:
    """Die at once, as a power cut would: no exception handler, no rollback, no flush."""
    os.kill(os.getpid(), signal.SIGKILL)


def call_token(operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """What identifies one call: its idempotency key, or for a signature the digest of the PDF."""
    if operation == "sign_pdf":
        pdf = kwargs.get("pdf_bytes", args[2] if len(args) > 2 else b"")
        return "sign:" + hashlib.sha256(pdf).hexdigest()
    return str(kwargs.get("idempotency_key", args[-1] if args else ""))


class CrashAfterPSrE:
    """Wraps a PSrE adapter; the first time a call of `operations` returns, `crash` runs before the RA commits.

    The ledger (one token a line) remembers which calls already crashed, so the retry after a restart
    goes through and the run moves on to the next PSrE call. The ledger line is written and synced
    before the crash, so a kill never makes the same call crash twice.
    """

    def __init__(self, inner: Any, operations: set[str], ledger: Path, crash: Callable[[], None] = kill_self) -> None:
        """Wrap `inner`; `operations` is a subset of MUTATING."""
        self.inner, self.operations, self.ledger, self.crash = inner, operations, ledger, crash

    def __getattr__(self, name: str) -> Any:
        """Pass every attribute through; wrap the armed operations."""
        attribute = getattr(self.inner, name)
        if name not in self.operations:
            return attribute

        def armed(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            token = f"{name} {call_token(name, args, kwargs)}"
            if self._first_time(token):
                self.crash()
            return result

        return armed

    def _first_time(self, token: str) -> bool:
        seen = set(self.ledger.read_text().splitlines()) if self.ledger.exists() else set()
        if token in seen:
            return False
        with self.ledger.open("a") as out:
            out.write(token + "\n")
            out.flush()
            os.fsync(out.fileno())
        return True


def armed_operations(setting: str) -> set[str]:
    """Parse the CRASH_AFTER_PSRE setting: 'all' or a comma list of operations."""
    names = {name.strip() for name in setting.split(",") if name.strip()}
    if "all" in names:
        return set(MUTATING)
    unknown = names - set(MUTATING)
    if unknown:
        raise ValueError(f"CRASH_AFTER_PSRE names unknown PSrE calls: {', '.join(sorted(unknown))}")
    return names
