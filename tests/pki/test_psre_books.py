"""Tests of the PSrE's books (outcome of an idempotency key, list of certificates), embedded and over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from wsgiref.simple_server import make_server

import pytest
from pki_builders import make_csr, make_subject
from test_http_psre import PASSWORD, USER, Quiet

from pki.embedded import EmbeddedPSrE
from pki.errors import IdempotencyConflict, WrongPassphrase
from pki.http_client import HttpPSrE
from pki.http_server import PsreWsgiApp
from pki.psre import PSrE

PASSPHRASE = "rahasia123"


@pytest.fixture(params=["embedded", "http"])
def adapter(request: pytest.FixtureRequest, psre: EmbeddedPSrE) -> Iterator[PSrE]:
    """The embedded PSrE itself, or an HttpPSrE talking to it over a real socket."""
    if request.param == "embedded":
        yield psre
        return
    httpd = make_server("127.0.0.1", 0, PsreWsgiApp(psre, USER, PASSWORD), handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield HttpPSrE(f"http://127.0.0.1:{httpd.server_port}", USER, PASSWORD, retries=0)
    httpd.shutdown()
    httpd.server_close()


def test_outcome_returns_what_an_idempotency_key_did(adapter: PSrE) -> None:
    subject_id = adapter.register_subject(make_subject(), "case-1/register/1")
    issued = adapter.issue_from_csr(subject_id, make_csr(), "case-1/activation/1")
    found = adapter.outcome("case-1/activation/1")
    assert found is not None and found.operation == "issue_from_csr"
    assert found.issued() == issued
    registered = adapter.outcome("case-1/register/1")
    assert registered is not None and registered.result == subject_id and registered.issued() is None
    assert adapter.outcome("case-1/never/1") is None


def test_list_certificates_shows_status_key_digest_and_lock(adapter: PSrE, psre: EmbeddedPSrE) -> None:
    subject_id = adapter.register_subject(make_subject(), "reg")
    from_csr = adapter.issue_from_csr(subject_id, make_csr(), "csr")
    adapter.revoke(from_csr.serial_hex, "keyCompromise", "rev")
    esign = adapter.issue_with_server_key(subject_id, PASSPHRASE, "esign")
    for _ in range(psre.keystore.max_attempts):
        with pytest.raises(WrongPassphrase):
            psre.keystore.unlock(subject_id, "salah12345")
    records = {r.serial_hex: r for r in adapter.list_certificates()}
    assert records[from_csr.serial_hex].status == "revoked"
    assert records[from_csr.serial_hex].reason == "keyCompromise"
    assert not records[from_csr.serial_hex].server_key
    assert records[esign.serial_hex].status == "good" and records[esign.serial_hex].server_key
    assert records[esign.serial_hex].locked
    assert len(records[esign.serial_hex].spki_sha256) == 64


def test_reset_repeated_with_another_passphrase_is_a_conflict_not_a_silent_adoption(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg")
    psre.issue_with_server_key(subject_id, PASSPHRASE, "esign")
    first = psre.reset_subject(subject_id, "pertama123", "case-9/reset/1")
    assert psre.reset_subject(subject_id, "pertama123", "case-9/reset/1") == first
    with pytest.raises(IdempotencyConflict):
        psre.reset_subject(subject_id, "kedua45678", "case-9/reset/1")


def test_repeat_of_a_server_key_call_whose_key_was_replaced_is_a_conflict(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg")
    first = psre.issue_with_server_key(subject_id, "pertama123", "case-3/activation/1")
    # The retry supersedes the orphan first (a valid server-held key is never replaced), then issues anew.
    psre.revoke(first.serial_hex, "superseded", "case-3/activation/1/ganti")
    psre.issue_with_server_key(subject_id, "kedua45678", "case-3/activation/1/ulang-1")
    # The current key opens with this passphrase, but it is not the key the first call made.
    with pytest.raises(IdempotencyConflict):
        psre.issue_with_server_key(subject_id, "kedua45678", "case-3/activation/1")


def test_repeat_of_a_server_key_call_whose_key_was_destroyed_is_a_conflict(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg")
    first = psre.issue_with_server_key(subject_id, "pertama123", "case-4/activation/1")
    # A retry superseded it: revoking an eSign certificate destroys its key, so the repeat cannot adopt it.
    psre.revoke(first.serial_hex, "superseded", "case-4/activation/1/batal")
    with pytest.raises(IdempotencyConflict):
        psre.issue_with_server_key(subject_id, "pertama123", "case-4/activation/1")
