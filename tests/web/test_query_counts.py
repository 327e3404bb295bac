"""Inbox, task API, case list and case page cost a fixed number of SQL statements, and page their lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from engine.models import Agency, Document, HumanTask, OutboxMail, ProcessInstance, User, db
from engine.services import queries
from engine.services.access import may_act_on
from tests.web_login import login

MAX_INBOX_STATEMENTS = 10


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements run while the block runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def start_real_case(api: Any) -> int:
    response = api("pemohon").post("/cases", json={"process_key": "issuance_ams"})
    assert response.status_code == 201, response.get_json()
    case_id: int = response.get_json()["case"]["id"]
    return case_id


def add_cases(app: Flask, template_id: int, count: int, role: str, **task: Any) -> list[int]:
    """Insert `count` cases (copies of a real one) each with one open task of `role`, in bulk."""
    with app.app_context():
        template = db.session.get_one(ProcessInstance, template_id)
        applicant = task.pop("applicant", None)
        ids = []
        for n in range(count):
            case = ProcessInstance(
                deployment_id=template.deployment_id,
                sop_key=template.sop_key,
                state_json=template.state_json,
                applicant_id=_user(applicant).id if applicant else template.applicant_id,
                agency_id=template.agency_id,
                applicant_json=task.pop("applicant_json", template.applicant_json),
                current_steps="Verifikasi",
            )
            db.session.add(case)
            db.session.flush()
            db.session.add(
                HumanTask(
                    instance_id=case.id,
                    task_uuid=f"bulk-{case.id}-{n}",
                    task_name="verify",
                    form_key="verification",
                    label="Verifikasi",
                    lane=role,
                    role=role,
                    **task,
                )
            )
            ids.append(case.id)
        db.session.commit()
        return ids


def test_the_inbox_page_costs_the_same_few_statements_for_5_or_120_tasks(
    app: Flask, client: FlaskClient, api: Any
) -> None:
    template = start_real_case(api)
    login(client, "verifikator")
    add_cases(app, template, 5, "Verifikator")
    client.get("/")  # warm caches (deployed processes, templates)
    with counted(app) as few:
        small = client.get("/")
    add_cases(app, template, 115, "Verifikator")
    with counted(app) as many:
        big = client.get("/")

    assert small.status_code == big.status_code == 200
    assert len(few) <= MAX_INBOX_STATEMENTS, "\n\n".join(s[:150] for s in few)
    assert len(many) == len(few), many
    body = big.get_data(as_text=True)
    assert body.count(">Klaim<span class=\"visually-hidden\">") == queries.PAGE_SIZE  # each names its case
    assert "klaim_setelah=" in body


def test_the_task_api_costs_the_same_statements_and_pages_by_cursor(app: Flask, client: FlaskClient, api: Any) -> None:
    template = start_real_case(api)
    verifikator = api("verifikator")
    created = add_cases(app, template, 7, "Verifikator")
    verifikator.get("/tasks")
    with counted(app) as few:
        verifikator.get("/tasks")
    created += add_cases(app, template, 113, "Verifikator")
    with counted(app) as many:
        first = verifikator.get("/tasks").get_json()
    assert len(many) == len(few) <= MAX_INBOX_STATEMENTS

    seen = [t["id"] for t in first["claimable"]]
    cursor = first["next"]["claimable_after"]
    while cursor is not None:
        page = verifikator.get(f"/tasks?claimable_after={cursor}").get_json()
        seen += [t["id"] for t in page["claimable"]]
        cursor = page["next"]["claimable_after"]
    with app.app_context():
        expected = [
            t.id
            for t in db.session.execute(
                select(HumanTask).where(HumanTask.instance_id.in_(created)).order_by(HumanTask.id)
            ).scalars()
        ]
    assert seen == expected  # every task once, in order, over three pages


def test_a_pemohon_inbox_is_scoped_in_sql(app: Flask, client: FlaskClient, api: Any) -> None:
    template = start_real_case(api)
    with app.app_context():
        others = _user("pemohon2").id
    add_cases(app, template, 40, "Pemohon", owner_user_id=others, applicant="pemohon2")
    built: list[int] = []

    def on_load(target: Any, context: Any) -> None:
        built.append(target.id)

    event.listen(HumanTask, "load", on_load)
    try:
        body = api("pemohon").get("/tasks").get_json()
    finally:
        event.remove(HumanTask, "load", on_load)
    assert [t["case_id"] for t in body["mine"]] == [template]
    assert len(built) <= 1  # the 40 tasks of another applicant are never loaded (the API reads columns only)


def test_the_sql_inbox_agrees_with_the_duty_rules(app: Flask, api: Any) -> None:
    template = start_real_case(api)
    with app.app_context():
        verifikator = _user("verifikator")
        diskominfo = db.session.execute(select(Agency.id).where(Agency.code == "diskominfo")).scalar_one()
        dinkes = db.session.execute(select(Agency.id).where(Agency.code == "dinkes")).scalar_one()
        nik = verifikator.nik
    add_cases(app, template, 3, "Verifikator")
    add_cases(app, template, 2, "Verifikator", applicant="verifikator")  # her own case
    declared = json.dumps({"nik": nik, "full_name": "Siapa"})
    add_cases(app, template, 1, "Verifikator", applicant_json=declared)  # a case about her, by NIK
    recommended = add_cases(app, template, 2, "Verifikator")
    add_cases(app, template, 2, "Atasan", agency_id=diskominfo)
    add_cases(app, template, 2, "Atasan", agency_id=dinkes)
    add_cases(app, template, 2, "Pemohon", owner_user_id=None)
    add_cases(app, template, 1, "Admin")
    with app.app_context():
        # verifikator recommended two cases (completed their Atasan task): she may not verify them.
        for case_id in recommended:
            db.session.add(
                HumanTask(
                    instance_id=case_id,
                    task_uuid=f"done-{case_id}",
                    task_name="recommend",
                    form_key="recommendation",
                    label="Rekomendasi",
                    lane="Atasan",
                    role="Atasan",
                    status="completed",
                    completed_by_id=verifikator.id,
                )
            )
        db.session.commit()
        users = db.session.execute(select(User)).scalars().all()
        open_tasks = db.session.execute(select(HumanTask).where(HumanTask.status == "open")).scalars().all()
        checked = 0
        for user in users:
            mine, claimable = queries.inbox(user)
            got = sorted(t.id for t in mine + claimable)
            expected = sorted(t.id for t in open_tasks if may_act_on(user, t) and t.claimed_by_id in (None, user.id))
            assert got == expected, user.username
            checked += len(expected)
        assert checked > 10
        # The cases withheld from verifikator are exactly her own, the one about her, and the two she recommended.
        visible = {t.instance_id for t in queries.inbox(_user("verifikator"))[1]}
        assert not visible & set(recommended)


def test_the_case_list_and_outbox_are_keyset_paged(app: Flask, client: FlaskClient, api: Any) -> None:
    template = start_real_case(api)
    add_cases(app, template, 60, "Verifikator")
    with app.app_context():
        for n in range(55):
            db.session.add(OutboxMail(recipient=f"x{n}@example.org", subject=f"Surel {n}", body="-", template="t"))
        db.session.commit()
    login(client, "admin")
    first = client.get("/").get_data(as_text=True)
    assert "kasus_sebelum=" in first
    outbox = client.get("/admin/surel").get_data(as_text=True)
    assert outbox.count("<summary>") == 50 and "sebelum=" in outbox
    with app.app_context():
        page = queries.outbox()
        rest = queries.outbox(before=page.next_after)
        assert len(page.rows) == 50 and rest.rows and rest.rows[0].id < page.rows[-1].id
        assert rest.next_after is None
        total = db.session.query(OutboxMail).count()
        assert len(page.rows) + len(rest.rows) == total


@pytest.mark.parametrize(
    "path",
    [
        "/?tugas_setelah=abc",
        "/?klaim_setelah=-5",
        "/?kasus_sebelum=99999999999999999999999",
        "/admin/surel?halaman=abc",
        "/admin/surel?sebelum=%00",
        "/admin/surel?halaman=99999999999999999999",
    ],
)
def test_bad_page_parameters_never_give_a_500(client: FlaskClient, path: str) -> None:
    login(client, "admin")
    # The first page, or a clear 400/422 (a number no column holds, a control character); never a 500.
    assert client.get(path).status_code in (200, 400, 422)


def test_the_case_page_statements_do_not_grow_with_its_documents(app: Flask, client: FlaskClient, api: Any) -> None:
    case_id = start_real_case(api)
    login(client, "verifikator")
    client.get(f"/kasus/{case_id}")
    with counted(app) as few:
        assert client.get(f"/kasus/{case_id}").status_code == 200
    with app.app_context():
        for n in range(20):
            db.session.add(
                Document(
                    instance_id=case_id, sha256=f"{n:064x}", filename=f"f{n}.pdf", media_type="application/pdf", size=1
                )
            )
        db.session.commit()
    with counted(app) as many:
        assert client.get(f"/kasus/{case_id}").status_code == 200
    assert len(many) == len(few) <= 25, many
