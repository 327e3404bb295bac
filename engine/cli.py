"""The `sertel` command: init, demo, db (schema migrations), run, deploy, users, roster, PSrE reconciliation, CRLs and audit."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from alembic import command as alembic_command
from alembic.util import CommandError
from cryptography import x509
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # gunicorn ships no types
from werkzeug.serving import run_simple

from engine.app import create_app
from engine.config import ROOT, ConfigError, load_settings
from engine.jobs import build_scheduler
from engine.services import (
    accounts,
    archive_refresh,
    audit_anchor,
    audit_keys,
    deploy,
    documents,
    evidence_package,
    reconcile,
    reminders,
    replay_cases,
    replay_regression,
    retention,
    setup,
    timers,
)
from engine.services.audit_verify import verify as verify_log
from engine.services.errors import ServiceError
from engine.services.package_verify import verify_package
from engine.web.labels import finding_label
from pki.embedded import EmbeddedPSrE
from pki.http_server import PsreWsgiApp


def _create_app(*_args: Any) -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """Sertel: Registration Authority workflow for electronic certificates."""


def _fail(exc: ServiceError) -> None:
    _report(exc)
    sys.exit(1)


def _report(exc: ServiceError, prefix: str = "") -> None:
    click.echo(f"Gagal: {prefix}{exc.message}", err=True)
    for field, messages in exc.fields.items():
        for message in messages:
            click.echo(f"  {field}: {message}", err=True)


@main.command()
@with_appcontext
def init() -> None:
    """Create or upgrade the database schema (migrations) and the embedded PSrE's CA (idempotent)."""
    setup.create_schema()
    setup.load_agencies()
    created = setup.initialise_psre()
    click.echo("Basis data siap. " + ("CA PSrE dibuat." if created else "CA PSrE sudah ada."))


@main.group("db")
def db_group() -> None:
    """Schema migrations (Alembic, migrations/): upgrade, current, revision, history, check."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest); a pre-migration database is stamped first."""
    before = setup.schema_revision()
    setup.upgrade_schema(revision)
    after = setup.schema_revision()
    if before == after:
        click.echo(f"Skema basis data sudah pada revisi {after}.")
    else:
        click.echo(f"Skema basis data diperbarui: {before or '(tanpa revisi)'} → {after}.")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's revision and whether it is the newest."""
    current, head = setup.schema_revision(), setup.head_revision()
    state = "terbaru" if current == head else f"belum terbaru: jalankan `sertel db upgrade` (terbaru {head})"
    click.echo(f"{current or '(belum ada)'} ({state})")


@db_group.command("history")
@with_appcontext
def db_history() -> None:
    """List the revisions, newest first."""
    alembic_command.history(setup.alembic_config())


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes (its file name is made of it).")
@click.option(
    "--autogenerate/--empty",
    default=True,
    help="Compare the models with the database (at the newest revision) and write the difference (default).",
)
@with_appcontext
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new revision file in migrations/versions (for developers: review it before committing)."""
    head = setup.head_revision()
    rev_id = f"{int(head) + 1:04d}" if head and head.isdigit() else None
    try:
        alembic_command.revision(setup.alembic_config(), message=message, autogenerate=autogenerate, rev_id=rev_id)
    except CommandError as exc:
        click.echo(f"Gagal: {exc}", err=True)
        sys.exit(1)


@db_group.command("check")
@with_appcontext
def db_check() -> None:
    """Exit 1 when the models differ from the newest revision (a model change needs a revision)."""
    try:
        alembic_command.check(setup.alembic_config())
    except CommandError as exc:
        click.echo(f"Gagal: {exc}", err=True)
        sys.exit(1)
    click.echo("Model dan migrasi sesuai.")


@main.command("deploy")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="cli", help="Who deploys (recorded in the log).")
@with_appcontext
def deploy_command(files: tuple[Path, ...], actor: str) -> None:
    """Deploy BPMN files (default: every processes/*.bpmn); if any is refused, deploy none."""
    paths = list(files) or sorted((ROOT / "processes").glob("*.bpmn"))
    checked, refused = deploy.check_files(paths)
    for path, exc in refused.items():
        _report(exc, f"{path.name}: ")
    if refused:
        sys.exit(1)
    try:
        for deployment, created in deploy.publish_files(checked, actor):
            state = "versi baru" if created else "tidak berubah"
            click.echo(f"{deployment.key}: v{deployment.version} ({state}, sha256 {deployment.sha256[:12]})")
    except ServiceError as exc:
        _fail(exc)


@main.command()
@with_appcontext
def demo() -> None:
    """Initialise, load demo agencies, users and roster, and deploy the processes."""
    if current_app.config["SERTEL"]["ENV"] not in {"development", "testing"}:
        # Demo accounts share one published password: they must never exist on a real deployment.
        click.echo("Gagal: data demo tidak boleh dimuat di lingkungan produksi (SERTEL_ENV).", err=True)
        sys.exit(1)
    setup.create_schema()
    setup.initialise_psre()
    logins = setup.load_demo()
    paths = sorted((ROOT / "processes").glob("*.bpmn"))
    try:
        # A file the database already had as some version is not published again: restarting the demo
        # must not undo what a process owner published since (an explicit `sertel deploy` does republish).
        deploy.deploy_files(paths, "demo", republish=False)
    except ServiceError as exc:
        _fail(exc)
    click.echo("Data demo siap. Akun demo (kata sandi sama untuk semua):")
    for username, password, roles in logins:
        click.echo(f"  {username:<12} {password}   {', '.join(roles)}")


def _default_base_url(host: str, port: int) -> None:
    """Unless SERTEL_BASE_URL is set, make mail links point at what this command really serves."""
    if os.environ.get("SERTEL_BASE_URL") or port == 0:
        return
    shown = "127.0.0.1" if host in {"", "0.0.0.0", "::"} else host  # every address: link to loopback
    if ":" in shown:
        shown = f"[{shown}]"
    os.environ["SERTEL_BASE_URL"] = f"http://{shown}:{port}"


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def run_command(host: str, port: int) -> None:
    """Serve the app (development server; production: `sertel serve`)."""
    _default_base_url(host, port)
    # app.run() refuses to block inside the flask CLI, so serve with werkzeug directly.
    run_simple(host, port, _create_app(), use_reloader=False, use_debugger=False, threaded=True)


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # an untyped base class
    """gunicorn with options from Sertel's settings; each worker builds its own app after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        return create_app()


@main.command("serve", with_appcontext=False)  # the workers build their apps; the master needs none
@click.option("--bind", default=None, help="HOST:PORT to listen on (default SERTEL_WEB_BIND).")
@click.option("--workers", default=None, type=int, help="Worker processes (default SERTEL_WEB_WORKERS).")
@click.option("--threads", default=None, type=int, help="Threads per worker (default SERTEL_WEB_THREADS).")
def serve_command(bind: str | None, workers: int | None, threads: int | None) -> None:
    """Serve the app with gunicorn (production): workers and threads from the settings."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        click.echo(f"Gagal: {exc}", err=True)
        sys.exit(1)
    # Imported here: the config module reads the settings when imported, which other commands must not need.
    from engine.gunicorn_conf import options as gunicorn_options

    options = gunicorn_options(settings)
    if bind:
        options["bind"] = [bind]
    if workers:
        options["workers"] = workers
    if threads:
        options["threads"] = threads
        # The workers build their apps from the settings: their connection pools follow the threads too.
        os.environ["SERTEL_WEB_THREADS"] = str(threads)
    first = options["bind"][0]
    if not first.startswith("unix:"):
        host, _, port = first.rpartition(":")
        _default_base_url(host.strip("[]"), int(port))
    _Gunicorn(options).run()


@main.command()
@click.option("--interval", default=30, type=int, help="Seconds between timer polls.")
@click.option("--once", is_flag=True, help="Fire due timers once and exit.")
@with_appcontext
def scheduler(interval: int, once: bool) -> None:
    """Run the scheduler process: BPMN timers, SLA reminders and escalations."""
    if once:
        click.echo(f"Pewaktu yang dijalankan: {timers.fire_due_timers()}")
        click.echo(f"Pengingat masa berlaku dikirim: {reminders.send_expiry_reminders()}")
        anchor = audit_anchor.create_anchor("penjadwal")
        click.echo(f"Jangkar log peristiwa: {len(audit_anchor.anchored_heads(anchor)) if anchor else 0} kepala rantai")
        return
    click.echo(f"Penjadwal berjalan (setiap {interval} detik). Ctrl+C untuk berhenti.")
    build_scheduler(current_app._get_current_object(), interval).start()  # type: ignore[attr-defined]  # LocalProxy method; current_app is typed as Flask


@main.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.argument("username")
@click.option("--full-name", required=True)
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Pemohon, Atasan, Verifikator, Admin, Auditor")
@click.option("--agency", default=None, help="Agency code, e.g. diskominfo")
@click.option("--nip", default=None)
@click.option("--nik", default=None, help="Binds the account to the person record with this NIK")
@click.option("--category", default="asn", help="asn, wali_kota, wakil_wali_kota or lainnya")
@click.option("--position", default="")
@click.password_option()
@with_appcontext
def users_create(
    username: str,
    full_name: str,
    email: str,
    roles: tuple[str, ...],
    agency: str | None,
    nip: str | None,
    nik: str | None,
    category: str,
    position: str,
    password: str,
) -> None:
    """Create a user (with --nik: bound to that person record, which the RA sets, never the user)."""
    try:
        accounts.create_user(
            username,
            password,
            full_name,
            email,
            list(roles),
            agency,
            nip,
            nik,
            actor="cli",
            category=category,
            position=position,
        )
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Pengguna {username} dibuat.")


@main.group()
def roster() -> None:
    """The ASN roster."""


@roster.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def roster_import(csv_file: Path) -> None:
    """Import a roster CSV (nip,nik,full_name,agency_code,position,status)."""
    try:
        result = setup.import_roster(csv_file.read_text(encoding="utf-8-sig"), "cli")
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Daftar ASN diimpor: {result['created']} baru, {result['updated']} diperbarui.")


@main.group("keys")
def keys_group() -> None:
    """Key-encryption keys of the embedded PSrE."""


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Re-wrap every key under the first of SERTEL_KEK_KEYS: the embedded PSrE's CA, TSA, seal and eSign keys,
    the event log's MAC keys and every stored document's key; afterwards the older KEKs can be dropped."""
    adapter = current_app.extensions["sertel.psre"]
    if hasattr(adapter, "rotate_keys"):
        click.echo(f"{adapter.rotate_keys()} kunci dibungkus ulang dengan KEK terbaru.")
    else:
        click.echo("PSrE jarak jauh mengelola kuncinya sendiri; kunci PSrE dilewati.")
    click.echo(f"{audit_keys.archive()} kunci MAC log peristiwa diarsipkan di bawah KEK terbaru.")
    click.echo(f"{documents.rotate_document_keys()} kunci dokumen tersimpan dibungkus ulang dengan KEK terbaru.")


@main.command("psre-server")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8088, type=int)
@click.option("--username", envvar="SERTEL_PSRE_USERNAME", required=True, help="HTTP Basic user the RA logs in with.")
@click.option(
    "--password", envvar="SERTEL_PSRE_PASSWORD", required=True, help="HTTP Basic password (from the environment)."
)
@with_appcontext
def psre_server(host: str, port: int, username: str, password: str) -> None:
    """Serve the embedded PSrE over HTTP (BSrE Esign v2 shapes + /api/ra), for an RA set to SERTEL_PSRE=http."""
    adapter = current_app.extensions["sertel.psre"]
    if not isinstance(adapter, EmbeddedPSrE):
        click.echo("Gagal: hanya PSrE tertanam yang dapat dilayani.", err=True)
        sys.exit(1)
    adapter.initialise()
    click.echo(f"PSrE tertanam dilayani di http://{host}:{port} (Ctrl+C untuk berhenti)")
    run_simple(host, port, PsreWsgiApp(adapter, username, password), use_reloader=False, threaded=True)


@main.group("psre")
def psre_group() -> None:
    """The RA's records against the PSrE's."""


@psre_group.command("reconcile")
@with_appcontext
def psre_reconcile() -> None:
    """Compare every certificate with the PSrE; repair by the clear rules, list the rest; exit 1 if any is open."""
    report = reconcile.reconcile("cli")
    click.echo(f"Sertifikat diperiksa: {report.checked}")
    for finding in report.repaired:
        click.echo(f"  diperbaiki  {finding.serial}  {finding_label(finding.kind)}")
    for listed in reconcile.findings()[0]:
        click.echo(f"  untuk Admin {listed.serial}  {finding_label(listed.kind)}  {listed.detail_json}")
    if report.open_total:
        click.echo(f"{report.open_total} perbedaan menunggu Admin (/admin/rekonsiliasi).", err=True)
        sys.exit(1)
    click.echo("Catatan RA dan PSrE sama." if not report.repaired else "Catatan RA kini sama dengan PSrE.")


@main.group("pki")
def pki_group() -> None:
    """Operator commands of the embedded PSrE's CA."""


def _embedded() -> EmbeddedPSrE:
    adapter = current_app.extensions["sertel.psre"]
    if not isinstance(adapter, EmbeddedPSrE):
        click.echo("Gagal: hanya PSrE tertanam yang menerbitkan CRL di sini.", err=True)
        sys.exit(1)
    return adapter


@pki_group.command("crl")
@with_appcontext
def pki_crl() -> None:
    """Publish a new CRL of the issuing CA now (the scheduler does so every CRL_PUBLISH_INTERVAL_MINUTES)."""
    crl = x509.load_der_x509_crl(_embedded().publish_crl())
    click.echo(f"CRL CA penerbit nomor {_crl_number(crl)} diterbitkan, berlaku sampai {crl.next_update_utc}.")


@pki_group.command("root-crl")
@with_appcontext
def pki_root_crl() -> None:
    """Publish the root CA's CRL for ROOT_CRL_VALIDITY_DAYS: the only routine use of the root key."""
    days = int(current_app.config["SERTEL"]["ROOT_CRL_VALIDITY_DAYS"])
    crl = x509.load_der_x509_crl(_embedded().publish_root_crl(timedelta(days=days)))
    click.echo(f"CRL CA akar nomor {_crl_number(crl)} diterbitkan, berlaku sampai {crl.next_update_utc}.")


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


@main.group("audit")
def audit_group() -> None:
    """The event log."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the keyed chains, the stream registry and the anchors; name the first misfit of each stream."""
    problems = verify_log()
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"Log peristiwa TIDAK utuh: {len(problems)} aliran bermasalah.", err=True)
        sys.exit(1)
    click.echo("Log peristiwa utuh.")


@audit_group.command("anchor")
@with_appcontext
def audit_anchor_command() -> None:
    """Anchor the chain heads that moved: an RFC 3161 timestamp and the RA seal, stored in the log."""
    event = audit_anchor.create_anchor("cli")
    if event is None:
        click.echo("Tidak ada kepala rantai yang berubah sejak jangkar terakhir.")
        return
    click.echo(f"Jangkar #{event.seq} disimpan ({len(audit_anchor.anchored_heads(event))} kepala rantai).")


@main.group("archive")
def archive_group() -> None:
    """The RA's archive of signed PDFs."""


@archive_group.command("refresh")
@with_appcontext
def archive_refresh_command() -> None:
    """Renew service certificates due, then give every archived signed PDF due a new archive timestamp."""
    renewed = archive_refresh.renew_service_certificates("cli")
    if renewed:
        click.echo(f"Sertifikat layanan diperbarui: {', '.join(renewed)}")
    report = archive_refresh.refresh_archive("cli")
    click.echo(f"Dokumen diperiksa: {report.checked}, cap waktu arsip diperbarui: {len(report.refreshed)}")
    for old, new in report.refreshed.items():
        click.echo(f"  dokumen {old} -> {new}")
    for document_id, reason in report.failed.items():
        click.echo(f"  GAGAL dokumen {document_id}: {reason}", err=True)
    if report.failed:
        sys.exit(1)


@main.group("retention")
def retention_group() -> None:
    """Retention of case documents and sent mails (docs/privacy.md)."""


@retention_group.command("run")
@click.option("--as-of", "as_of", default=None, help="Run as of this UTC moment (ISO 8601), e.g. to rehearse.")
@with_appcontext
def retention_run(as_of: str | None) -> None:
    """Erase the content of every document and sent mail past its retention period, once; list what was erased."""
    try:
        moment = datetime.fromisoformat(as_of).replace(tzinfo=None) if as_of else None
    except ValueError:
        click.echo(f"--as-of bukan waktu ISO 8601: {as_of}", err=True)
        sys.exit(2)
    report = retention.erase_expired(moment, "cli")
    for erased in report.erased:
        click.echo(
            f"  dokumen {erased.document_id} (kasus {erased.case_id}, {erased.kind}, {erased.filename}, "
            f"sha256 {erased.sha256}) disimpan sampai {erased.kept_until:%Y-%m-%d}"
        )
    click.echo(f"Isi dokumen dihapus: {len(report.erased)}")
    for mail in report.mails:
        click.echo(
            f"  surel {mail.mail_id} ({mail.template}, kasus {mail.case_id or '-'}, terkirim "
            f"{mail.sent_at:%Y-%m-%d}, sha256 {mail.content_sha256})"
        )
    click.echo(f"Isi surel terkirim dihapus: {len(report.mails)}")


@pki_group.command("rollover")
@with_appcontext
def pki_rollover_command() -> None:
    """Put a new issuing CA under the same root in charge of issuance (the old one keeps publishing CRLs)."""
    try:
        subject = archive_refresh.rollover_issuing_ca("cli")
    except ServiceError as exc:
        _fail(exc)
        return
    click.echo(f"CA penerbit baru: {subject}. Mulai ulang proses web dan penjadwal agar memakainya.")


@audit_group.command("replay")
@click.argument("case_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Replay every case.")
@with_appcontext
def audit_replay(case_id: int | None, every: bool) -> None:
    """Re-execute a case from its log (no PSrE call) and compare each step and the end state with the record."""
    if (case_id is None) == (not every):
        raise click.UsageError("Sebutkan satu CASE_ID atau --all.")
    ids = replay_cases.case_ids() if every else [case_id or 0]
    differing = 0
    for one in ids:
        try:
            outcome = replay_cases.replay_case(one)
        except ServiceError as exc:
            _fail(exc)
            return
        differing += not outcome.result.equal
        click.echo(outcome.summary(), err=not outcome.result.equal)
    if every:
        click.echo(f"{len(ids) - differing} dari {len(ids)} kasus cocok.", err=bool(differing))
    if differing:
        sys.exit(1)


@audit_group.command("regression-test")
@click.argument("case_id", type=int)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSON file to write."
)
@with_appcontext
def audit_regression_test(case_id: int, out: Path) -> None:
    """Write a finished case's recorded inputs and path as a regression fixture of its diagram."""
    try:
        fixture = replay_regression.fixture_of(case_id)
    except ServiceError as exc:
        _fail(exc)
        return
    out.write_text(json.dumps(fixture, ensure_ascii=False, indent=1), encoding="utf-8")
    steps = sum(1 for e in fixture["entries"] if e["kind"] == "step_completed")
    click.echo(
        f"Uji regresi kasus #{case_id} ({fixture['process_key']} v{fixture['version']}, {steps} langkah) ditulis ke {out}."
    )


@main.group("process")
def process_group() -> None:
    """Process diagrams."""


@process_group.command("check-regressions")
@click.argument("key")
@click.argument("diagram", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("fixtures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def process_check_regressions(key: str, diagram: Path, fixtures: tuple[Path, ...]) -> None:
    """Re-execute regression fixtures on a changed diagram; exit 1 where a past path changes."""
    try:
        findings = replay_regression.check(
            key,
            deploy.fixture_definition(diagram.read_text(encoding="utf-8"), key),
            [json.loads(path.read_text(encoding="utf-8")) for path in fixtures],
        )
    except ServiceError as exc:
        _report(exc)
        sys.exit(1)
    changed = [f for f in findings if f.difference is not None]
    for finding in findings:
        click.echo(str(finding), err=finding.difference is not None)
    if changed:
        click.echo(f"{len(changed)} dari {len(findings)} kasus lampau menempuh jalur lain pada diagram ini.", err=True)
        sys.exit(1)
    click.echo(f"Semua {len(findings)} kasus lampau menempuh jalur yang sama.")


@audit_group.command("export")
@click.argument("case_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The ZIP to write.")
@click.option("--actor", default="cli", help="Who exports (recorded in the log).")
@with_appcontext
def audit_export(case_id: int, out: Path, actor: str) -> None:
    """Write a case's evidence package: timeline, documents, diagram, events, anchor, manifest sealed by the RA."""
    try:
        content = evidence_package.build(case_id, actor)
    except ServiceError as exc:
        _fail(exc)
        return
    out.write_bytes(content)
    click.echo(f"Paket bukti kasus {case_id} ditulis ke {out} ({len(content):,} bita).")


@audit_group.command("verify-package", with_appcontext=False)
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--ra-cert",
    "ra_cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM of the trusted CA root (or chain); without it the package's own root is used, with a warning.",
)
def audit_verify_package(package: Path, ra_cert: Path | None) -> None:
    """Verify an evidence package offline: hashes, the RA seal, the chain links and the anchor."""
    report = verify_package(package.read_bytes(), ra_cert.read_bytes() if ra_cert else None)
    for warning in report.warnings:
        click.echo(f"Peringatan: {warning}", err=True)
    if not report.ok:
        for problem in report.problems:
            click.echo(f"GAGAL: {problem}", err=True)
        click.echo("Paket bukti TIDAK utuh.", err=True)
        sys.exit(1)
    click.echo(f"Paket bukti kasus {report.case_id} utuh: {report.events} peristiwa, segel RA sah.")
