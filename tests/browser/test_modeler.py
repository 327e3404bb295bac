"""The process owner's modeler in Debian's chromium, against the real app.

An Admin opens SOP 088.9 in the modeler, drops a new task on the flow after the recommendation, turns it
into a user task and names it, sees bpmnlint's Sertel rule flag it (no form), picks a form in the
properties panel and sees that flag disappear, publishes, and sees the new version's diff against the old
one on the version page (the new task coloured "added").

Two runs of the same walk:
* ``contract``: the pages, bundle and login are the app's; the process-owner API (/api/v1/processes/...)
  and the catalogue (/api/v1/catalogue) are answered by an in-test fake that follows spec9.md, so the walk
  holds the modeler to the contract whatever the server's publish checks are today.
* ``server``: everything is the app's. It needs the forms catalogue by name (``sertel:form``, branch
  ``forms``) for the server to accept a new user task; until that is merged it is skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.engine.test_replay import returned_then_delivered
from tests.engine.test_replay_fixtures import path_changing

KEY = "issuance_ams"
TASK_NAME = "Rekomendasi kedua"
PROCESSES = Path(__file__).resolve().parents[2] / "processes"


@pytest.fixture
def live_server(app: Any, vendor_bundle: Path) -> Iterator[str]:
    """Serve the app on 127.0.0.1:<random port>; answer its base URL."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, name="sertel-live", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# The catalogue of spec9.md, as much of it as the walks name.
CATALOGUE = {
    "forms": [
        {"name": name, "title": title, "fields": [{"name": "decision", "required": True}]}
        for name, title in (
            ("issuance_ams.start", "Mulai penerbitan"),
            ("registration", "Formulir pendaftaran"),
            ("recommendation", "Rekomendasi atasan"),
            ("activation", "Aktivasi"),
        )
    ],
    "operators": [
        {
            "name": "common.form_pdf",
            "version": 1,
            "versions": [1],
            "doc": "PDF formulir, ditandatangani.",
            "params": [
                {"name": "form", "type": "str", "required": True, "doc": "Nama formulir."},
                {"name": "source", "type": "str", "required": False, "doc": "Data sumber."},
            ],
            "results": ["document_id", "sha256"],
        }
    ],
    "roles": [{"lane": lane, "role": lane} for lane in ("Admin", "Atasan", "Pemohon", "Verifikator")],
    "settings": [
        {"name": "sla_activation", "default": "P7D", "kind": "duration"},
        {"name": "sla_verification_reminder", "default": "P2D", "kind": "duration"},
    ],
}


def fake_catalogue(page: Any) -> None:
    page.route(
        re.compile(r".*/api/v1/catalogue$"),
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(CATALOGUE)),
    )


class FakeProcessApi:
    """The process-owner API of spec9.md for one process, in memory (routes of a playwright page)."""

    def __init__(self, key: str, xml: str) -> None:
        self.key = key
        self.versions: list[dict[str, Any]] = []
        self.xml: dict[int, str] = {}
        self.calls: list[tuple[str, str]] = []
        self._publish(xml, "admin")

    def _publish(self, xml: str, who: str) -> int:
        number = len(self.versions) + 1
        for version in self.versions:
            version["is_current"] = False
        self.versions.append(
            {
                "version": number,
                "sha256": hashlib.sha256(xml.encode()).hexdigest(),
                "published_by": who,
                "published_at": f"2026-12-0{min(number, 9)}T08:00:00+00:00",
                "rolled_back_from": None,
                "is_current": True,
                "running_cases": 0,
            }
        )
        self.xml[number] = xml
        return number

    @staticmethod
    def problems(xml: str) -> list[dict[str, str]]:
        """The one publish check the walk needs: a user task names a form."""
        bpmn, sertel = "{http://www.omg.org/spec/BPMN/20100524/MODEL}", "{https://sertel.id/schema/bpmn/1.0}"
        return [
            {"element_id": task.get("id", ""), "message": f"tugas '{task.get('id')}': formulir belum dipilih"}
            for task in ET.fromstring(xml.encode()).iter(f"{bpmn}userTask")
            if task.find(f"{bpmn}extensionElements/{sertel}form") is None
        ]

    def handle(self, route: Any) -> None:
        request = route.request
        path = urllib.parse.urlsplit(request.url).path
        rest = path.removeprefix(f"/api/v1/processes/{self.key}")
        self.calls.append((request.method, rest or "/"))
        body = json.loads(request.post_data) if request.post_data else {}
        current = self.versions[-1]
        if request.method == "GET" and rest == "":
            meta = {k: current[k] for k in ("version", "sha256", "published_by", "published_at")}
            return self._json(route, 200, {"key": self.key, "title": "SOP 088.9", "current": meta, "draft": None})
        if request.method == "GET" and rest == "/versions":
            return self._json(route, 200, list(reversed(self.versions)))
        match = re.fullmatch(r"/versions/(\d+)/xml", rest)
        if request.method == "GET" and match and int(match.group(1)) in self.xml:
            return route.fulfill(status=200, content_type="application/xml", body=self.xml[int(match.group(1))])
        if request.method == "POST" and rest == "/check":
            return self._json(route, 200, {"problems": self.problems(body["xml"])})
        if request.method == "PUT" and rest == "/draft":
            return self._json(route, 200, {"saved_at": "2026-12-03T08:00:00+00:00", "problems": []})
        if request.method == "POST" and rest == "/publish":
            if hashlib.sha256(body["xml"].encode()).hexdigest() == current["sha256"]:
                return self._json(route, 200, {"version": current["version"], "unchanged": True})
            return self._json(route, 201, {"version": self._publish(body["xml"], "admin")})
        return self._json(route, 404, {"error": "Halaman tidak ditemukan."})

    @staticmethod
    def _json(route: Any, status: int, body: Any) -> None:
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo-sertel-2026")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert urllib.parse.urlsplit(page.url).path == "/"


def screen_point(page: Any, x: float, y: float) -> tuple[float, float]:
    """Where diagram point (x, y) of the modeler is on the screen."""
    return page.evaluate(
        """([x, y]) => {
            const canvas = window.sertelModeler.modeler.get('canvas');
            const box = canvas.getContainer().getBoundingClientRect();
            const view = canvas.viewbox();
            return [box.left + (x - view.x) * view.scale, box.top + (y - view.y) * view.scale];
        }""",
        [x, y],
    )


def center_on(page: Any, x: float, y: float) -> None:
    """Scroll the page to the modeler and show diagram point (x, y) at the canvas's centre, at scale 1."""
    page.locator("#modeler-canvas").scroll_into_view_if_needed()
    page.evaluate(
        """([x, y]) => {
            const canvas = window.sertelModeler.modeler.get('canvas');
            const { width, height } = canvas.getContainer().getBoundingClientRect();
            canvas.viewbox({ x: x - width / 2, y: y - height / 2, width, height });
        }""",
        [x, y],
    )


def lint_rules(page: Any, element_id: str) -> list[str]:
    return page.evaluate("id => (window.sertelModeler.lintIssues[id] || []).map(i => i.rule)", element_id)


def walk(page: Any, base: str, shots: Path) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1600, "height": 1000})

    page.goto(f"{base}/admin/proses/{KEY}")
    page.wait_for_function("window.sertelModeler && window.sertelModeler.ready")
    assert page.locator(".bjs-powered-by").count() == 1  # the bpmn.io watermark stays
    # token simulation: on and off again (editing is off while it runs)
    page.click("#modeler-simulate")
    page.wait_for_selector("#modeler-simulate[aria-pressed='true']")
    page.wait_for_selector("#modeler-canvas .simulation .djs-palette.hidden", state="attached")
    page.click("#modeler-simulate")
    page.wait_for_selector("#modeler-simulate[aria-pressed='false']")
    center_on(page, 1100, 400)

    # --- a new task dropped on the "Disetujui" flow, made a user task and named -------------------------
    before = set(page.evaluate("window.sertelModeler.modeler.get('elementRegistry').getAll().map(e => e.id)"))
    page.click(".djs-palette .entry[data-action='create.task']")
    x, y = screen_point(page, 1100, 400)
    page.mouse.move(x - 40, y, steps=8)
    page.mouse.move(x, y, steps=4)
    page.mouse.down()
    page.mouse.up()
    created = page.evaluate(
        "before => window.sertelModeler.modeler.get('elementRegistry').filter(e => e.type === 'bpmn:Task' && !before.includes(e.id)).map(e => e.id)",
        sorted(before),
    )
    assert len(created) == 1, (created, errors)
    page.keyboard.type(TASK_NAME)  # direct editing of the label opens on create
    page.mouse.click(*screen_point(page, 700, 560))  # a click on empty canvas ends editing; the task stays selected
    page.click(".djs-context-pad .entry[data-action='replace']")
    page.click(".djs-popup .entry[data-id='replace-with-user-task']")
    task_id = page.evaluate(
        "name => window.sertelModeler.modeler.get('elementRegistry').filter(e => e.type === 'bpmn:UserTask' && e.businessObject.name === name).map(e => e.id)",
        TASK_NAME,
    )
    assert len(task_id) == 1, task_id
    task_id = task_id[0]
    # the flow was split: the new task sits between the gateway and the automated checks, in the Atasan lane
    assert page.evaluate(
        """id => {
            const bo = window.sertelModeler.modeler.get('elementRegistry').get(id).businessObject;
            return [bo.incoming.map(f => f.sourceRef.id), bo.outgoing.map(f => f.targetRef.id), bo.lanes.map(l => l.name)];
        }""",
        task_id,
    ) == [["recommendation_gateway"], ["automated_checks"], ["Atasan"]]

    page.wait_for_function(
        "id => (window.sertelModeler.lintIssues[id] || []).some(i => i.rule === 'sertel/user-task-form')", arg=task_id
    )
    assert page.locator(f".djs-overlays[data-container-id='{task_id}'] .bjsl-overlay").count() == 1
    # the server's check (debounced after the edit) puts its problem on the element too
    page.wait_for_selector(f".sertel-problem-badge[data-element='{task_id}']")
    assert page.locator(f"#modeler-server-problems button[data-element='{task_id}']").count() >= 1
    page.screenshot(path=str(shots / "modeler-new-task.png"))

    # --- the form, picked from the catalogue in the properties panel ------------------------------------
    header = page.locator("[data-group-id='group-sertel-form'] .bio-properties-panel-group-header")
    header.click()
    select = page.locator("#bio-properties-panel-sertel-form-name")
    options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    wanted = next(v for v in options if v == "recommendation" or v.endswith(".recommendation"))
    select.select_option(wanted)
    page.wait_for_function(
        "id => !(window.sertelModeler.lintIssues[id] || []).some(i => i.rule === 'sertel/user-task-form')", arg=task_id
    )
    assert "sertel/user-task-form" not in lint_rules(page, task_id)
    page.wait_for_selector(f".sertel-problem-badge[data-element='{task_id}']", state="detached")
    xml = page.evaluate("window.sertelModeler.modeler.saveXML().then(r => r.xml)")
    assert re.search(
        rf'<bpmn:userTask id="{task_id}" name="{TASK_NAME}">\s*<bpmn:extensionElements>\s*<sertel:form name="{re.escape(wanted)}"',
        xml,
    ), xml[:3000]
    page.screenshot(path=str(shots / "modeler-form-picked.png"))

    # --- a service task shows its operator and the operator's declared parameters -----------------------
    page.click("#modeler-canvas .djs-shape[data-element-id='recommendation_pdf']")
    page.locator("[data-group-id='group-sertel-operator'] .bio-properties-panel-group-header").click()
    assert page.input_value("#bio-properties-panel-sertel-operator").startswith("common.form_pdf")
    assert page.locator("#bio-properties-panel-sertel-param-form").input_value() != ""
    assert page.input_value("#bio-properties-panel-sertel-result") == "recommendation_pdf"

    # --- the process's SLA property, versioned with the diagram -----------------------------------------
    page.evaluate(
        "(() => { const m = window.sertelModeler.modeler; m.get('selection').select(m.get('elementRegistry').get('participant_issuance_ams')); })()"
    )
    page.locator("[data-group-id='group-sertel-process-properties'] .bio-properties-panel-group-header").click()
    page.fill("#bio-properties-panel-sertel-property-sla_verification_reminder", "P1D")
    page.wait_for_function(
        '() => window.sertelModeler.modeler.saveXML().then(r => /<sertel:property name="sla_verification_reminder" value="P1D"/.test(r.xml))'
    )

    # --- publish ----------------------------------------------------------------------------------------
    page.click("#modeler-publish")
    page.wait_for_function(
        "window.sertelModeler.published || /Tidak diterbitkan/.test(document.getElementById('modeler-status').textContent)"
    )
    status = page.text_content("#modeler-status")
    assert page.evaluate("window.sertelModeler.published") is not None, (
        status,
        page.text_content("#modeler-server-problems"),
    )
    version = page.evaluate("window.sertelModeler.published.version")
    assert f"Versi {version} diterbitkan" in status

    # --- the version page: the diff of the two versions -------------------------------------------------
    with page.expect_navigation():
        page.click("#modeler-status a")
    page.wait_for_function("window.sertelVersions && window.sertelVersions.diff")
    diff = page.evaluate("window.sertelVersions.diff")
    assert task_id in [e["id"] for e in diff["added"]]
    assert page.locator(f"#diff-new .djs-element.diff-added[data-element-id='{task_id}']").count() == 1
    assert page.locator(f"#diff-old [data-element-id='{task_id}']").count() == 0
    # the split flow: one flow now ends at the new task (changed) and a new one leaves it (added)
    assert "flow_recommendation_approved" in [e["id"] for e in diff["changed"]]
    assert page.locator(f"#diff-changes tr[data-element='{task_id}']").count() >= 1
    # the changed SLA shows as a changed property of the process
    process = next(e for e in diff["changed"] if e["id"] == KEY)
    assert "P1D" in process["attrs"]["extensionElements"]["newValue"]
    assert "P1D" not in process["attrs"]["extensionElements"]["oldValue"]
    assert page.locator("#versions-table tbody tr").count() >= 2
    page.screenshot(path=str(shots / "versions-diff.png"), full_page=True)
    assert not errors, errors


def test_modeler_walk_against_the_api_contract(page: Any, live_server: str, tmp_path: Path) -> None:
    fake = FakeProcessApi(KEY, (PROCESSES / f"{KEY}.bpmn").read_text(encoding="utf-8"))
    page.route(re.compile(rf".*/api/v1/processes/{KEY}(/.*)?$"), fake.handle)
    fake_catalogue(page)
    login(page, live_server, "admin")
    walk(page, live_server, tmp_path)
    assert ("POST", "/publish") in fake.calls
    assert ("POST", "/check") in fake.calls  # the debounced server check ran after edits
    assert len(fake.versions) == 2


def test_version_page_and_modeler_against_the_server(page: Any, live_server: str, api: Any) -> None:
    admin = api("admin")
    old_name, new_name = "Beri rekomendasi permohonan", "Beri rekomendasi atas permohonan"
    xml = (PROCESSES / f"{KEY}.bpmn").read_text(encoding="utf-8")
    assert xml.count(f'name="{old_name}"') == 1
    published = admin.post(f"/processes/{KEY}/publish", json={"xml": xml.replace(old_name, new_name)})
    assert published.status_code == 201, published.get_json()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1600, "height": 1000})
    login(page, live_server, "admin")

    # the list of processes, from GET /api/v1/processes
    page.goto(f"{live_server}/admin/proses")
    row = page.locator(f"#modeler-processes tr[data-key='{KEY}']")
    row.wait_for()
    assert row.locator("td").nth(1).text_content().strip() == "2"
    with page.expect_navigation():
        row.locator("a", has_text="Versi").click()
    assert urllib.parse.urlsplit(page.url).path == f"/admin/proses/{KEY}/versi"

    page.wait_for_function("window.sertelVersions && window.sertelVersions.diff")
    assert page.evaluate("[window.sertelVersions.from, window.sertelVersions.to]") == [1, 2]
    changed = {e["id"]: e for e in page.evaluate("window.sertelVersions.diff.changed")}
    assert changed["recommendation"]["attrs"]["name"] == {"oldValue": old_name, "newValue": new_name}
    assert page.locator("#diff-new .djs-element.diff-changed[data-element-id='recommendation']").count() == 1
    assert page.locator("#diff-old .djs-element.diff-changed[data-element-id='recommendation']").count() == 1

    # roll back to version 1: a new version 3, current, and identical to 1
    page.click("#versions-table button.rollback[data-version='1']")
    page.wait_for_function(
        "window.sertelVersions.to === 3 && window.sertelVersions.diff && window.sertelVersions.from === 1"
    )
    page.wait_for_function(
        "document.getElementById('diff-summary').textContent.startsWith('0 ditambah, 0 dihapus, 0 diubah')"
    )
    versions = admin.get(f"/processes/{KEY}/versions").get_json()
    newest = versions[0]
    assert (newest["version"], newest["is_current"], newest["rolled_back_from"]) == (3, True, 1)

    # the modeler opens the current version and the server's check runs on it
    page.goto(f"{live_server}/admin/proses/{KEY}")
    page.wait_for_function("window.sertelModeler && window.sertelModeler.ready && window.sertelModeler.checks > 0")
    assert page.text_content("#modeler-status").startswith("Versi 3")
    assert not errors, errors


def test_version_page_previews_and_moves_running_cases(page: Any, live_server: str, api: Any) -> None:
    budi = api("pemohon")
    started = budi.post("/cases", json={"process_key": KEY})
    assert started.status_code == 201, started.get_json()
    case_id = started.get_json()["case"]["id"]
    admin = api("admin")
    xml = (PROCESSES / f"{KEY}.bpmn").read_text(encoding="utf-8")
    published = admin.post(
        f"/processes/{KEY}/publish", json={"xml": xml.replace("Beri rekomendasi permohonan", "Rekomendasi kepala")}
    )
    assert published.status_code == 201, published.get_json()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/proses/{KEY}/versi")
    page.wait_for_function("window.sertelVersions && window.sertelVersions.diff")

    page.click("#migration-preview")
    row = page.locator(f"#migration-table tr[data-case='{case_id}']")
    row.wait_for()
    assert row.locator("td").nth(1).text_content().strip() == "ya"
    page.click("#migration-run")
    page.wait_for_function(
        "document.getElementById('versions-status').textContent.includes('kasus dipindah ke versi 2')"
    )
    case = budi.get(f"/cases/{case_id}").get_json()
    assert case["case"]["process_version"] == 2
    assert not errors, errors


def test_modeler_walk_against_the_server(page: Any, live_server: str, tmp_path: Path, client: Any, api: Any) -> None:
    response = api("admin").get("/catalogue")
    names = [form["name"] for form in response.get_json()["forms"]] if response.status_code == 200 else []
    if "recommendation" not in names:
        pytest.skip(
            "needs the forms catalogue by name (sertel:form, branch 'forms') for the server to accept a new user task"
        )
    login(page, live_server, "admin")
    walk(page, live_server, tmp_path)
    versions = api("admin").get(f"/processes/{KEY}/versions").get_json()
    assert versions[0]["is_current"] and versions[0]["version"] == 2


def select(page: Any, element_id: str, group: str) -> None:
    """Select an element of the modeler and open one group of its properties panel.

    The focused panel input is blurred first, as a click on the canvas would: the panel keeps showing the
    element whose input has the focus.
    """
    page.evaluate(
        "id => { document.activeElement.blur(); const m = window.sertelModeler.modeler; m.get('selection').select(m.get('elementRegistry').get(id)); }",
        element_id,
    )
    page.locator(f"[data-group-id='group-{group}'] .bio-properties-panel-group-header").click()


def saved_xml(page: Any) -> str:
    return page.evaluate("window.sertelModeler.modeler.saveXML().then(r => r.xml)")


def test_panel_edits_conditions_lanes_timers_without_xml(page: Any, live_server: str) -> None:
    fakes = {
        key: FakeProcessApi(key, (PROCESSES / f"{key}.bpmn").read_text(encoding="utf-8"))
        for key in (KEY, "issuance_esign")
    }
    for key, fake in fakes.items():
        page.route(re.compile(rf".*/api/v1/processes/{key}(/.*)?$"), fake.handle)
    fake_catalogue(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/proses/{KEY}")
    page.wait_for_function("window.sertelModeler && window.sertelModeler.ready")

    # a gateway's flow: its condition
    select(page, "flow_recommendation_approved", "sertel-condition")
    condition = page.locator("#bio-properties-panel-sertel-condition-body")
    assert condition.input_value() == 'recommendation["decision"] == "approve"'
    condition.fill("recommendation['decision'] in ('approve', 'approved')")
    page.wait_for_function(
        "() => window.sertelModeler.modeler.saveXML().then(r => r.xml.includes(\"in ('approve', 'approved')\"))"
    )

    # a lane: the role it maps to
    select(page, "lane_verifikator", "sertel-lane")
    lane = page.locator("#bio-properties-panel-sertel-lane-role")
    assert lane.input_value() == "Verifikator"
    assert "peran Verifikator" in lane.locator("option:checked").text_content()

    # the process (through its pool): start form choice
    select(page, f"participant_{KEY}", "sertel-start-form")
    values = page.locator("#bio-properties-panel-sertel-start-form-name option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert "" in values and len(values) > 1

    # a timer: its duration from a setting
    page.goto(f"{live_server}/admin/proses/issuance_esign")
    page.wait_for_function("window.sertelModeler && window.sertelModeler.ready")
    select(page, "activation_expired_timer", "sertel-timer")
    timer = page.locator("#bio-properties-panel-sertel-timer-setting")
    assert timer.input_value() == "sla_activation"
    timer.select_option("sla_verification_reminder")
    assert "setting('sla_verification_reminder')" in saved_xml(page)
    assert "setting('sla_activation')" not in saved_xml(page)


def test_the_check_panel_shows_stored_regression_tests_and_publishing_names_the_broken_one(
    page: Any, live_server: str, api: Any
) -> None:
    """A finished 088.9 case saved as a regression test: the modeler's check lists it, marks where a draft
    departs from its path, and the refused publish names it."""
    # In another thread: Playwright's event loop runs in this one, and the form PDFs' signing uses asyncio.run.
    with ThreadPoolExecutor(1) as worker:
        case_id = worker.submit(returned_then_delivered, api).result()
    admin = api("admin")
    saved = admin.post(f"/processes/{KEY}/regressions", json={"case_id": case_id, "name": "kembali-lalu-terbit"})
    assert saved.status_code == 201, saved.get_json()
    draft = admin.client.put(f"/api/v1/processes/{KEY}/draft", json={"xml": path_changing()}, headers=admin.headers)
    assert draft.status_code == 200, draft.get_json()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1600, "height": 1000})
    login(page, live_server, "admin")
    page.goto(f"{live_server}/admin/proses/{KEY}")
    assert "kembali-lalu-terbit" in page.text_content("#uji-regresi")
    page.wait_for_function(
        "window.sertelModeler && window.sertelModeler.ready && window.sertelModeler.regressions.length"
    )
    failed = page.locator("#modeler-regressions li.regression.failed")
    assert failed.count() == 1 and "kembali-lalu-terbit" in failed.text_content()
    assert "1 berubah" in page.text_content("#modeler-regressions-summary")
    page.wait_for_selector(".sertel-problem-badge[data-element='notify_returned']")

    page.click("#modeler-publish")
    page.wait_for_function("/Tidak diterbitkan/.test(document.getElementById('modeler-status').textContent)")
    assert "uji regresi 'kembali-lalu-terbit'" in page.text_content("#modeler-status")
    assert not errors, errors
