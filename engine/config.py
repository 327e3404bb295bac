"""Every setting of Sertel with its default; each can be overridden by a SERTEL_<NAME> variable."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    # "development" (and "testing") generate random secrets kept per instance in INSTANCE_DIR/dev-secrets.json;
    # anything else demands real ones.
    "ENV": "development",
    # Where the database, uploaded documents and the embedded PSrE live.
    "INSTANCE_DIR": str(ROOT / "instance"),
    # SQLAlchemy URL; empty means SQLite inside INSTANCE_DIR.
    "DATABASE_URL": "",
    # SQLite only: seconds a writer waits for another writer's lock before the request answers "coba lagi".
    "SQLITE_BUSY_TIMEOUT": 30,
    # Flask's secret (flash and anything Flask signs); sessions and API tokens are random ids kept hashed.
    "SECRET_KEY": "",
    # Fernet keys (comma separated, newest first) that wrap the CA keys at rest; rotate by prepending.
    "KEK_KEYS": "",
    # Public base URL: goes into CRL distribution points, OCSP URLs and e-mail links. Unset, `sertel run` and
    # `sertel serve` make it http://HOST:PORT of what they really serve (behind a proxy: set it).
    "BASE_URL": "http://127.0.0.1:5000",
    # `sertel serve` (gunicorn): listen address, worker processes and threads per worker; requests taking
    # longer than WEB_TIMEOUT seconds have their worker restarted.
    "WEB_BIND": "127.0.0.1:8000",
    "WEB_WORKERS": 4,
    "WEB_THREADS": 4,
    "WEB_TIMEOUT": 120,
    # Base of the PKI URLs written into certificates (CRL, OCSP, caIssuers); empty means BASE_URL + "/pki".
    # Set it to a plain-http URL in production: EN 319 412-2 wants http CRL URLs (CRLs and OCSP answers are
    # signed, and a TLS check of its own would need revocation data first).
    "PKI_BASE_URL": "",
    # Only addresses on this domain (or its subdomains) count as official e-mail.
    "OFFICIAL_EMAIL_DOMAIN": "pekalongankota.go.id",
    # Validity of issued certificates, in days.
    "CERT_VALIDITY_DAYS": 730,
    # Extra trusted timestamp authorities (a PEM file of TSA anchors); our own TSA's root is always trusted.
    "TRUSTED_TSA_PEM": "",
    # certificatePolicies OID of every certificate the embedded PSrE issues. The default lies under IANA's
    # documentation-only enterprise number 32473 (RFC 5612); a real PSrE sets the OID of its published CP.
    "CERT_POLICY_OID": "1.3.6.1.4.1.32473.3375.1.1",
    # Hours until the next CRL is due.
    "CRL_NEXT_UPDATE_HOURS": 24,
    # Minutes between two CRLs of the issuing CA made by the scheduler (besides one at each revocation);
    # well below CRL_NEXT_UPDATE_HOURS so a relying party never holds an expired CRL.
    "CRL_PUBLISH_INTERVAL_MINUTES": 60,
    # How often the scheduler deletes expired sessions and tokens and old login failures.
    "SECURITY_PRUNE_INTERVAL_MINUTES": 60,
    # Minutes between two computations of the dashboard's case counts by the scheduler (the page reads the
    # newest one, so it never counts 100,000 cases per view; an Admin can recompute at once).
    "DASHBOARD_REFRESH_MINUTES": 5,
    # Days a root CRL made by `sertel pki root-crl` stays current (the root key is needed only then).
    "ROOT_CRL_VALIDITY_DAYS": 365,
    # Which PSrE adapter the RA talks to: "embedded" or "http".
    "PSRE": "embedded",
    # The embedded PSrE's own store: empty = the SQLite file INSTANCE_DIR/psre/psre.sqlite3; a
    # postgresql:// URL (optionally ?schema=psre) when several app servers share one PSrE state.
    "PSRE_DATABASE_URL": "",
    # The remote PSrE (PSRE=http): base URL, HTTP Basic credentials, per-request timeout and retries.
    "PSRE_URL": "",
    "PSRE_USERNAME": "",
    "PSRE_PASSWORD": "",
    "PSRE_TIMEOUT": 10,
    "PSRE_RETRIES": 3,
    # With a remote PSrE: the RA's own eSign account there (subject id or NIK) and its passphrase, used to
    # seal what the RA produces (form PDFs, decision letters, dossiers). The embedded PSrE needs neither.
    "RA_SEAL_SUBJECT": "",
    "RA_SEAL_PASSPHRASE": "",
    # eSign keys of the embedded PSrE: wrong passphrases before LOCK, and the scrypt cost (2**17, OWASP's
    # minimum; only ENV=testing may go lower).
    "ESIGN_MAX_ATTEMPTS": 5,
    "ESIGN_SCRYPT_N": 131072,
    # Where the PSrE's own keys (root, issuing CA, TSA, RA seal) live: "software" (wrapped under KEK_KEYS)
    # or "pkcs11" (generated on and never leaving an HSM token: module path, token label, user PIN).
    "KEY_BACKEND": "software",
    "PKCS11_MODULE": "",
    "PKCS11_TOKEN_LABEL": "",
    "PKCS11_PIN": "",
    # Shortest eSign passphrase the embedded PSrE accepts (it must also hold letters and digits).
    "ESIGN_PASSPHRASE_MIN_LENGTH": 8,
    # Where the bytes of uploads and generated PDFs go: "files" (INSTANCE_DIR/documents, by sha256) or
    # "database" (table document_blobs, committed with the case; what several app servers need).
    "DOCUMENT_STORE": "files",
    # Service tasks a diagram marks `background=true` (form PDFs, seals) run after the person's request has
    # answered: started at once in a thread of the app server (BACKGROUND_KICK) and, whatever happens to it,
    # by the scheduler's timer poll; a failing one is retried after BACKGROUND_RETRY_SECONDS. Off: they run
    # in the request like every other step.
    "BACKGROUND_STEPS": False,
    "BACKGROUND_KICK": True,
    "BACKGROUND_RETRY_SECONDS": 60,
    # Largest accepted upload, bytes.
    "MAX_UPLOAD_BYTES": 5 * 1024 * 1024,
    # argon2id cost of password hashes (OWASP defaults); tests lower them to stay fast.
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_KIB": 65536,
    # Lifetime of an API bearer token, seconds.
    "API_TOKEN_TTL": 8 * 3600,
    # Lifetime of a browser session (kept on the server, revoked at logout), hours.
    "SESSION_LIFETIME_HOURS": 12,
    # Login throttling: failed attempts per account and per client address within the window, in minutes.
    "LOGIN_MAX_FAILURES_ACCOUNT": 5,
    "LOGIN_MAX_FAILURES_SOURCE": 20,
    "LOGIN_THROTTLE_MINUTES": 15,
    # SMTP host for e-mail; empty means mail goes to the in-app outbox only.
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "MAIL_FROM": "sertel@pekalongankota.go.id",
    # Team mailboxes for SLA reminders (verifikator) and escalations (the Dinas).
    "VERIFIKATOR_EMAIL": "verifikator@pekalongankota.go.id",
    "DINAS_EMAIL": "diskominfo@pekalongankota.go.id",
    # SLA of verification (ISO 8601 durations, calendar time): reminder, then escalation to the Dinas.
    "SLA_VERIFICATION_REMINDER": "P2D",
    "SLA_VERIFICATION_ESCALATION": "P3D",
    # Hours within which a key-compromise revocation must be handled (fast track).
    "KEY_COMPROMISE_SLA_HOURS": 4,
    "SLA_KEY_COMPROMISE": "PT4H",
    # Days an activation link stays valid, and the same as an ISO duration for diagram timers.
    "ACTIVATION_LINK_DAYS": 7,
    "SLA_ACTIVATION": "P7D",
    # Days before not_after when the owner is reminded to renew.
    "EXPIRY_REMINDER_DAYS": 30,
    # Crash tests only (honoured when ENV is development or testing): kill the process right after these
    # PSrE calls return ('all' or a comma list, e.g. 'issue_from_csr,revoke'), once per call, remembered in
    # CRASH_LEDGER (default INSTANCE_DIR/crash-ledger.txt).
    "CRASH_AFTER_PSRE": "",
    "CRASH_LEDGER": "",
    # Minutes between two reconciliations of the RA's certificates with the PSrE's (scheduler job).
    "RECONCILE_INTERVAL_MINUTES": 15,
    # Minutes between anchors of the event log (RFC 3161 timestamp + RA seal over the chain heads).
    "AUDIT_ANCHOR_INTERVAL_MINUTES": 60,
    # Years a closed case's dossier is kept after the case ends, and every other document of it unless
    # RETENTION_YEARS gives a shorter period (engine/services/retention.py; the job `erase_expired_documents`
    # and `sertel retention run` erase what is past it; docs/privacy.md).
    "DOSSIER_RETENTION_YEARS": 10,
    # Years after a case ends, per document kind (need_to_know.KINDS) and outcome ("dikabulkan": the request
    # was granted; "tidak_dikabulkan": rejected, declined, withdrawn or expired), before the content is erased;
    # kinds and outcomes not listed keep DOSSIER_RETENTION_YEARS. Identity scans go first, sooner when the
    # request was not granted. From the environment as JSON.
    "RETENTION_YEARS": {"identitas": {"dikabulkan": 5, "tidak_dikabulkan": 1}, "unggahan": {"tidak_dikabulkan": 2}},
    # Hours between two runs of the retention job (scheduler).
    "RETENTION_INTERVAL_HOURS": 24,
    # Days a sent mail's content (subject, body; they name people) is kept in the outbox after it was sent; the
    # same job then empties it, masks the recipient and keeps the row, the times and the content's SHA-256.
    # Unsent mails are never erased (docs/privacy.md).
    "MAIL_RETENTION_DAYS": 365,
    # Long-term validation (scheduler job, `sertel archive refresh`): a signed PDF the RA archived gets a new
    # archive timestamp when the certificates behind its newest timestamp expire within this many days.
    "ARCHIVE_REFRESH_WINDOW_DAYS": 60,
    # The embedded PSrE's TSA and RA seal certificates are re-issued this many days before they expire.
    "SERVICE_CERT_RENEWAL_DAYS": 90,
    # Hours between two runs of the long-term validation job (service renewal, then archive refresh).
    "ARCHIVE_REFRESH_INTERVAL_HOURS": 24,
    # Rows the security log keeps per anonymous source and minute; beyond that one counter row grows.
    "SECURITY_LOG_PER_MINUTE": 20,
    # Upper bound on evaluation steps of a diagram expression in the sandbox.
    "SANDBOX_MAX_STEPS": 100_000,
}

# The lowest scrypt cost of eSign keys accepted outside tests (OWASP password storage cheat sheet).
ESIGN_SCRYPT_N_FLOOR = 2**17
# Where development mode keeps the random secrets it generated for one instance (mode 0600).
DEV_SECRETS_FILE = "dev-secrets.json"


class ConfigError(RuntimeError):
    """A setting is missing or malformed."""


def _coerce(default: Any, raw: str) -> Any:
    """Turn an environment string into the type of the default."""
    if isinstance(default, bool):
        return raw.lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, (list, dict)):
        return json.loads(raw)
    return raw


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, SERTEL_* environment variables and explicit overrides; fail fast on secrets."""
    settings = dict(DEFAULTS)
    for name, default in DEFAULTS.items():
        raw = os.environ.get(f"SERTEL_{name}")
        if raw is not None:
            settings[name] = _coerce(default, raw)
    settings.update(overrides or {})
    instance = Path(settings["INSTANCE_DIR"])
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{instance / 'sertel.sqlite3'}"
    development = settings["ENV"] in {"development", "testing"}
    settings["GENERATED_SECRETS"] = []
    for name in ("SECRET_KEY", "KEK_KEYS"):
        if settings[name]:
            continue
        if not development:
            raise ConfigError(f"SERTEL_{name} must be set outside development")
        settings[name] = instance_secrets(instance)[name]
        settings["GENERATED_SECRETS"].append(name)
    if settings["DOCUMENT_STORE"] not in {"files", "database"}:
        raise ConfigError(f"SERTEL_DOCUMENT_STORE must be 'files' or 'database', not {settings['DOCUMENT_STORE']!r}")
    if settings["ENV"] != "testing" and int(settings["ESIGN_SCRYPT_N"]) < ESIGN_SCRYPT_N_FLOOR:
        raise ConfigError(f"SERTEL_ESIGN_SCRYPT_N must be at least {ESIGN_SCRYPT_N_FLOOR} outside testing")
    return settings


def instance_secrets(instance: Path) -> dict[str, str]:
    """The development secrets of one instance: generated at random on first use, then kept (file mode 0600).

    There are no built-in secrets: a development instance cannot be opened with anything read in the source.
    """
    path = instance / DEV_SECRETS_FILE
    try:
        stored = json.loads(path.read_text())
        if isinstance(stored, dict) and stored.get("SECRET_KEY") and stored.get("KEK_KEYS"):
            return {"SECRET_KEY": str(stored["SECRET_KEY"]), "KEK_KEYS": str(stored["KEK_KEYS"])}
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable; remove it only if nothing was encrypted under it: {exc}") from exc
    fresh = {"SECRET_KEY": secrets.token_urlsafe(48), "KEK_KEYS": Fernet.generate_key().decode()}
    instance.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(fresh, out)
    return fresh


def generated_secrets(settings: dict[str, Any]) -> list[str]:
    """The names of the secrets development mode generated for this instance instead of reading them."""
    return list(settings.get("GENERATED_SECRETS", []))
