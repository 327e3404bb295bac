"""Every SOP driven over the JSON API of a real server that may die at any PSrE call; each action is retried."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from tests.heavy.crash_server import Server
from tests.pki.pki_builders import one_page_pdf
from tests.sops.builders import APPROVE, PDF, PNG, csr_pem, registration

PASSWORD = "demo-sertel-2026"
ROLES = {"Pemohon": "pemohon", "Atasan": "atasan", "Verifikator": "verifikator"}
POSITIONS = ("Pranata Komputer Ahli Muda", "Pranata Komputer Ahli Pertama")


class Flows:
    """One person's life cycle through the six SOPs and the sign endpoint, against a crashing server."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tokens: dict[str, str] = {}
        self.passphrase = ""
        self.round = 0
        self.sop = ""
        self.cases: list[int] = []

    # --- transport -------------------------------------------------------------------------------------

    def call(self, user: str, method: str, path: str, make: Any = None) -> Any:
        if user not in self.tokens:
            body = {"username": user, "password": PASSWORD}
            response = self.server.request(
                "POST", "/api/v1/auth/token", self.sop, lambda _a: {"json": body}, {}
            )
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["token"]
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.server.request(method, "/api/v1" + path, self.sop, make or (lambda _a: {}), headers)

    def open_task(self, case_id: int) -> tuple[str, dict[str, Any]] | None:
        for user in ROLES.values():
            listing = self.call(user, "GET", "/tasks").json()
            for task in listing["mine"] + listing["claimable"]:
                if task["case_id"] == case_id:
                    return user, task
        return None

    def case(self, case_id: int) -> dict[str, Any]:
        return self.call("pemohon", "GET", f"/cases/{case_id}").json()  # type: ignore[no-any-return]

    # --- one SOP ---------------------------------------------------------------------------------------

    def run(self, sop: str, start_data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start a case of `sop` as the applicant and complete every task until it ends; return the case."""
        self.sop = sop
        body: dict[str, Any] = {"process_key": sop}
        if start_data:
            body["data"] = start_data
        response = self.call("pemohon", "POST", "/cases", lambda _a: {"json": body})
        assert response.status_code == 201, response.text
        case_id = int(response.json()["case"]["id"])
        self.cases.append(case_id)
        for _step in range(30):
            found = self.open_task(case_id)
            if found is None:
                break
            user, task = found
            if task["role"] != "Pemohon" and task["claimed_by"] is None:
                assert self.call(user, "POST", f"/tasks/{task['id']}/claim").status_code in (200, 409)
            make = self.payload(sop, user, task, start_data or {})
            answer = self.call(user, "POST", f"/tasks/{task['id']}/complete", make)
            assert answer.status_code == 200, (sop, task["task_name"], answer.text)
        case = self.case(case_id)
        assert case["case"]["status"] == "completed", (sop, case["case"], case["data"].get("error"))
        return case

    def payload(self, sop: str, user: str, task: dict[str, Any], start: dict[str, Any]) -> Any:
        """The request a person sends for a task; `attempt` > 0 is their retry after the server died."""
        name, serial = task["task_name"], start.get("certificate_serial", "")
        if name == "registration_form":  # identity comes from the person record (changed by 088.12 on the way)
            identity = dict.fromkeys(("full_name", "nik", "nip", "position", "agency_code", "email"))
            return lambda _a: _files(registration(**identity))
        if name == "recommendation":  # the head's name, NIP and position come from his own record
            return lambda _a: {"json": {"decision": "approve"}}
        if name == "verification":
            return lambda _a: {"json": APPROVE}
        if name == "delivery":
            return lambda _a: {"json": {"received": True}}
        if name == "activation" and sop == "issuance_esign":
            return self._esign_activation
        if name == "activation":
            return _csr_activation()
        if name == "renewal_form":
            prefill = self.call(user, "GET", f"/tasks/{task['id']}/form").json()["prefill"]
            body = {**prefill, "phone": "0812-3456-7890", "statement_true": True}
            return lambda _a: {"json": body}
        if name == "change_form":
            prefill = self.call(user, "GET", f"/tasks/{task['id']}/form").json()["prefill"]
            kept = {k: str(v) for k, v in prefill.items() if isinstance(v, str | int) and not isinstance(v, bool)}
            return lambda _a: _files({**kept, **_change(serial, POSITIONS[self.round % 2])})
        if name == "statement":
            return lambda _a: {"json": _revocation(serial)}
        if name == "statement_form":
            return lambda _a: _files(_forgotten(serial))
        if name == "set_new_passphrase":
            return self._new_passphrase
        raise AssertionError(f"no payload for task {name} of {sop}")

    def _esign_activation(self, attempt: int) -> dict[str, Any]:
        # The first retry types another passphrase (the PSrE's earlier key is then superseded), later ones repeat it.
        self.passphrase = f"Esign-{self.round}-{min(attempt, 1)}x"
        form = {
            "ktp_photo": (io.BytesIO(PNG), "ktp.png"),
            "selfie": (io.BytesIO(PNG + b"selfie"), "swafoto.png"),
            "accept_obligations": "true",
            "passphrase": self.passphrase,
            "passphrase_confirmation": self.passphrase,
        }
        return _files(form)

    def _new_passphrase(self, attempt: int) -> dict[str, Any]:
        self.passphrase = f"Baru-{self.round}-{min(attempt, 1)}y"
        body = {"passphrase": self.passphrase, "passphrase_confirmation": self.passphrase, "accept_obligations": True}
        return {"json": body}

    def sign(self) -> None:
        """Sign a PDF with the eSign key (POST /api/v1/sign); the retry after a kill signs again."""
        self.sop = "sign"
        pdf = one_page_pdf(f"Nota dinas putaran {self.round}")

        def make(_attempt: int) -> dict[str, Any]:
            return {
                "files": {"file": ("nota.pdf", io.BytesIO(pdf), "application/pdf")},
                "data": {"passphrase": self.passphrase, "reason": "Menyetujui", "location": "Kota Pekalongan"},
            }

        response = self.call("pemohon", "POST", "/sign", make)
        assert response.status_code == 200 and response.content.startswith(b"%PDF-"), response.text[:300]

    # --- a whole life cycle ----------------------------------------------------------------------------

    def life_cycle(self) -> None:
        """088.9, 088.10, 088.12, 088.14, sign, 088.13, then 088.11 for both certificates."""
        ams = _active(self.run("issuance_ams"))
        renewed = _active(self.run("renewal_rekey", {"certificate_serial": ams}))
        changed = _active(self.run("data_change", {"certificate_serial": renewed}))
        esign = _active(self.run("issuance_esign"))
        self.sign()
        reset = _active(self.run("passphrase_lock", {"certificate_serial": esign}))
        self.run("revocation", {"certificate_serial": changed})
        self.run("revocation", {"certificate_serial": reset})
        self.round += 1


def _active(case: dict[str, Any]) -> str:
    active = [c["serial"] for c in case["certificates"] if c["status"] == "active"]
    assert len(active) == 1, case["certificates"]
    return str(active[0])


def _csr_activation() -> Any:
    # The first retry sends a new CSR (a browser that generated a new key pair), later ones repeat it.
    csrs: list[str] = []

    def make(attempt: int) -> dict[str, Any]:
        if attempt < 2 or not csrs:
            csrs.append(csr_pem()[0])
        return {"json": {"accept_obligations": True, "csr_pem": csrs[-1]}}

    return make


def _files(fields: dict[str, Any]) -> dict[str, Any]:
    """Split a multipart form into requests' data and files (fresh file objects each time)."""
    data = {k: v for k, v in fields.items() if not isinstance(v, tuple)}
    files = {k: (v[1], io.BytesIO(v[0].getvalue())) for k, v in fields.items() if isinstance(v, tuple)}
    return {"data": data, "files": files}


def _change(serial: str, position: str) -> dict[str, Any]:
    return {
        "certificate_serial": serial, "change_position": "true", "position": position,
        "full_name": "Budi Santoso", "agency_code": "diskominfo",
        "email": "pemohon@pekalongankota.go.id", "reason": "Jabatan berubah sesuai SK terbaru.",
        "statement_true": "true", "change_proof": (io.BytesIO(PDF), "sk-jabatan.pdf"),
    }


def _revocation(serial: str) -> dict[str, Any]:
    return {
        "certificate_serial": serial, "reason": "affiliationChanged", "statement_true": True,
        "chronology": "Saya pindah tugas ke Pemerintah Kabupaten Batang mulai bulan depan.",
        "incident_date": date.today().isoformat(),
    }


def _forgotten(serial: str) -> dict[str, Any]:
    return {
        "certificate_serial": serial, "statement_date": date.today().isoformat(),
        "reason": "Lupa passphrase.", "ktp_scan": (io.BytesIO(PNG), "ktp.png"),
        "statement_forgotten": "true", "statement_true": "true",
    }
