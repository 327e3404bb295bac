"""What a process asks of its applicant before a case starts: a certificate, as its diagram declares it.

A process states `<sertel:property name="requires_certificate" value="any|ams|esign"/>`; a person without an
active certificate of that kind is refused at start with a clear message (never a case that ends at once), and
a certificate's page offers only the processes that take a certificate of its kind.
"""

from __future__ import annotations

from sqlalchemy import select

from engine import runtime
from engine.models import Certificate, ProcessDeployment, User, db
from engine.models.base import utcnow
from engine.services import deploy
from engine.services.errors import Invalid, Unavailable

PROPERTY = "requires_certificate"
# The declared requirement -> the certificate kind it takes (None: any kind).
KINDS: dict[str, str | None] = {"any": None, "ams": "ams", "esign": "esign"}
KIND_NAMES = {
    "any": "Sertifikat Elektronik",
    "ams": "Sertifikat Elektronik (AMS)",
    "esign": "Sertifikat Elektronik eSign",
}
HOW_TO_GET = {
    "any": "Ajukan penerbitan sertifikat terlebih dahulu (SOP 088.9 atau 088.14).",
    "ams": "Ajukan penerbitan sertifikat terlebih dahulu (SOP 088.9).",
    "esign": "Ajukan penerbitan sertifikat eSign terlebih dahulu (SOP 088.14).",
}


def requirement_of(deployment: ProcessDeployment) -> str | None:
    """The certificate requirement a deployed process declares ('any', 'ams', 'esign'), or None."""
    value = runtime.definition_properties(deployment.spec_json).get(PROPERTY, "").strip().lower()
    if not value:
        return None
    if value not in KINDS:
        raise Unavailable(
            f"Diagram proses '{deployment.title or deployment.key}' menyebut {PROPERTY}='{value}' yang tidak dikenal "
            "(pilihan: any, ams, esign); hubungi Admin."
        )
    return value


def certificate_processes() -> list[tuple[str, str, str]]:
    """(key, title, requirement) of every deployed process that declares the certificate it needs."""
    found = []
    for deployment in deploy.latest_all():
        requirement = requirement_of(deployment)
        if requirement is not None:
            found.append((deployment.key, deployment.title or deployment.key, requirement))
    return found


def processes_for(certificate: Certificate) -> list[tuple[str, str]]:
    """(key, title) of the processes an owner may start for this certificate: active, unexpired, the right kind."""
    if certificate.status != "active" or certificate.not_after <= utcnow():
        return []
    return [(key, title) for key, title, needs in certificate_processes() if takes(needs, certificate.kind)]


def takes(requirement: str | None, kind: str) -> bool:
    """Whether a certificate of `kind` meets `requirement` (no requirement: it is not a certificate's process)."""
    return requirement is not None and KINDS.get(requirement, "") in (None, kind)


def usable_certificates(applicant: User, requirement: str) -> list[Certificate]:
    """The applicant's active, unexpired certificates that meet `requirement`."""
    query = select(Certificate).where(
        Certificate.user_id == applicant.id, Certificate.status == "active", Certificate.not_after > utcnow()
    )
    kind = KINDS[requirement]
    if kind is not None:
        query = query.where(Certificate.kind == kind)
    return list(db.session.execute(query.order_by(Certificate.id)).scalars())


def refuse_without_certificate(
    deployment: ProcessDeployment, applicant: User, serial: str = "", for_self: bool = True
) -> None:
    """Refuse to start a process that needs a certificate the applicant does not hold (or one that does not fit)."""
    requirement = requirement_of(deployment)
    if requirement is None:
        return
    title = deployment.title or deployment.key
    usable = usable_certificates(applicant, requirement)
    wanted = KIND_NAMES[requirement]
    serial = serial.strip().lower()[:64]
    if serial and serial not in {c.serial.lower() for c in usable}:
        state = _why_not_usable(applicant, serial, requirement)
        raise Invalid(
            f"Sertifikat {serial} {state}: '{title}' hanya untuk {wanted} yang aktif milik pemohon.",
            {"certificate_serial": [f"Sertifikat ini {state}."]},
        )
    if not usable:
        raise Invalid(
            f"Permohonan '{title}' hanya untuk pemilik {wanted} yang aktif, dan "
            f"{'Anda' if for_self else applicant_name(applicant)} belum memilikinya. {HOW_TO_GET[requirement]}",
            {"certificate_serial": [f"Tidak ada {wanted} aktif."]},
        )


def _why_not_usable(applicant: User, serial: str, requirement: str) -> str:
    """Why the applicant's certificate `serial` cannot be used, in words."""
    cert = db.session.execute(
        select(Certificate).where(Certificate.user_id == applicant.id, Certificate.serial == serial)
    ).scalar_one_or_none()
    if cert is None:
        return "tidak ditemukan pada pemohon ini"
    if cert.status != "active":
        return "sudah dicabut atau tidak aktif lagi"
    if cert.not_after <= utcnow():
        return "sudah habis masa berlakunya"
    return f"bukan {KIND_NAMES[requirement]}"


def applicant_name(applicant: User) -> str:
    """How a refusal names the applicant: 'Anda' is ambiguous when staff start on someone's behalf."""
    person = applicant.person
    return f"pemohon ({person.full_name})" if person is not None else "pemohon"
