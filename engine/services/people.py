"""Person records: the identity an account is bound to (set by the RA or the roster), and form fields bound to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import registry
from engine.models import Agency, Person, RosterEntry, User, db
from engine.models.people import PERSON_CATEGORIES
from engine.services import audit
from engine.services.errors import Invalid

# What a bound field is called in a refusal, by the person-record attribute it is bound to.
ATTRIBUTE_LABELS = {
    "full_name": "Nama",
    "nik": "NIK",
    "nip": "NIP",
    "category": "Jenis pemilik",
    "agency_code": "Perangkat Daerah",
    "position": "Jabatan",
    "email": "E-mail",
}
NOT_RECORDED = "Belum tercatat pada data identitas akun; hubungi Admin Otoritas Pendaftaran."


def person_record(user: User | None) -> dict[str, Any]:
    """The identity of an account as plain data; empty when the account has no person record."""
    if user is None or user.person is None:
        return {}
    person = user.person
    return {
        "full_name": person.full_name,
        "nik": person.nik,
        "nip": person.nip or "",
        "category": person.category,
        "category_label": PERSON_CATEGORIES.get(person.category, person.category),
        "agency_code": person.agency.code if person.agency else "",
        "agency_name": person.agency.name if person.agency else "",
        "position": person.position or "",
        "email": user.email,
    }


def _digits(value: str | None, length: int, label: str) -> str | None:
    cleaned = "".join(str(value or "").split())
    if not cleaned:
        return None
    if not cleaned.isdigit() or len(cleaned) != length:
        raise Invalid(f"{label} harus terdiri dari {length} angka.", {label.lower(): [f"Harus {length} angka."]})
    return cleaned


def _agency(code: str | None) -> Agency | None:
    if not code:
        return None
    agency = db.session.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none()
    if agency is None:
        raise Invalid(f"Perangkat Daerah '{code}' tidak dikenal.", {"agency_code": ["Perangkat Daerah tidak dikenal."]})
    return agency


def bind_person(
    user: User,
    nik: str,
    full_name: str,
    nip: str | None = None,
    category: str = "asn",
    agency_code: str | None = None,
    position: str = "",
    actor: str = "sistem",
) -> Person:
    """Create or update the person with this NIK and bind `user` to it (RA staff only; the caller checks)."""
    nik_clean = _digits(nik, 16, "NIK")
    if nik_clean is None:
        raise Invalid("NIK wajib diisi.", {"nik": ["Wajib diisi."]})
    nip_clean = _digits(nip, 18, "NIP")
    if category not in PERSON_CATEGORIES:
        raise Invalid(f"Jenis pemilik '{category}' tidak dikenal.", {"category": ["Pilih jenis pemilik."]})
    if category == "asn" and nip_clean is None:
        raise Invalid("NIP wajib untuk ASN.", {"nip": ["Wajib untuk ASN."]})
    if not full_name.strip():
        raise Invalid("Nama wajib diisi.", {"full_name": ["Wajib diisi."]})
    agency = _agency(agency_code)
    person = db.session.execute(select(Person).where(Person.nik == nik_clean)).scalar_one_or_none()
    if person is not None:
        owner = db.session.execute(select(User).where(User.person_id == person.id)).scalar_one_or_none()
        if owner is not None and owner.id != user.id:
            message = f"NIK ini sudah terhubung dengan akun '{owner.username}'."
            raise Invalid(message, {"nik": [message]})
    if nip_clean:
        holder = db.session.execute(select(Person).where(Person.nip == nip_clean)).scalar_one_or_none()
        if holder is not None and holder is not person:
            raise Invalid("NIP ini sudah tercatat untuk orang lain.", {"nip": ["Sudah tercatat untuk orang lain."]})
    if person is None:
        person = Person(nik=nik_clean)
        db.session.add(person)
    person.full_name, person.nip, person.category = full_name.strip(), nip_clean, category
    person.agency = agency
    person.position, person.source, person.updated_by = position.strip(), "admin", actor
    user.person = person
    user.full_name = person.full_name
    if agency is not None:
        user.agency = agency
    db.session.flush()
    audit.append(
        "system",
        "person_bound",
        actor,
        {"username": user.username, "person_id": person.id, "category": category, "agency": agency_code or ""},
    )
    return person


def apply_verified_change(user: User, fields: dict[str, Any], actor: str) -> None:
    """Apply a data change the verifikator approved (088.12) to the person record and the account.

    The ASN roster is not touched: it is the independent source the checks compare against, and the
    differences are listed for the Dinas (roster_differences).
    """
    person = user.person
    if person is None:
        raise Invalid("Akun pemohon belum terhubung dengan data identitas.")
    if fields.get("full_name"):
        person.full_name = user.full_name = str(fields["full_name"]).strip()
    if fields.get("position"):
        person.position = str(fields["position"]).strip()
    if fields.get("email"):
        user.email = str(fields["email"]).strip()
    agency = _agency(fields.get("agency_code"))
    if agency is not None:
        person.agency, user.agency = agency, agency  # the relationships, so readers in this run see the new agency
    person.updated_by = actor
    db.session.flush()


def _same(first: Any, second: Any) -> bool:
    return " ".join(str(first or "").split()).casefold() == " ".join(str(second or "").split()).casefold()


def roster_differences() -> list[dict[str, Any]]:
    """ASN person records that disagree with the roster (name, NIK, agency, position, missing), for the Dinas."""
    found: list[dict[str, Any]] = []
    people = db.session.execute(select(Person).where(Person.nip.is_not(None)).order_by(Person.full_name)).scalars()
    for person in people:
        entry = db.session.get(RosterEntry, person.nip)
        if entry is None:
            found.append({"person": person, "roster": None, "fields": ["tidak ada di data ASN"]})
            continue
        fields = [
            label
            for label, mine, theirs in (
                ("nama", person.full_name, entry.full_name),
                ("NIK", person.nik, entry.nik or person.nik),
                ("perangkat daerah", person.agency_id, entry.agency_id),
                ("jabatan", person.position, entry.position),
            )
            if not _same(mine, theirs)
        ]
        if fields:
            found.append({"person": person, "roster": entry, "fields": fields})
    return found


def persons_from_roster(entries: list[RosterEntry], actor: str) -> int:
    """Create person records for roster rows with a NIK that have none yet; existing records are left as set."""
    created = 0
    for entry in entries:
        if not entry.nik:
            continue
        exists = db.session.execute(
            select(Person.id).where((Person.nik == entry.nik) | (Person.nip == entry.nip))
        ).first()
        if exists:
            continue
        db.session.add(
            Person(
                nik=entry.nik,
                full_name=entry.full_name,
                nip=entry.nip,
                category="asn",
                agency_id=entry.agency_id,
                position=entry.position,
                source="roster",
                updated_by=actor,
            )
        )
        created += 1
    db.session.flush()
    return created


def bind_fields(
    schema_class: Any, raw: dict[str, Any], sources: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Fill the fields bound to a person record (metadata bound='applicant.nik' …) from that record.

    A typed value that differs from the record is refused with an Indonesian message: identity is never
    taken from what someone types. A field marked editable_if_empty is left to the person where the record
    has no value (e.g. a position the roster lacks).
    """
    values = dict(raw)
    errors: dict[str, list[str]] = {}
    for name, field in registry.schema_fields(schema_class).items():
        target = field.metadata.get("bound")
        if not target:
            continue
        source, _, attribute = str(target).partition(".")
        value = str(sources.get(source, {}).get(attribute) or "")
        if not value and field.metadata.get("editable_if_empty"):
            continue
        typed = raw.get(name)
        whose = "akun Anda" if source == "actor" else "pemohon"
        label = ATTRIBUTE_LABELS.get(attribute, attribute)
        if (
            value
            and typed not in (None, "")
            and "".join(str(typed).split()).casefold() != "".join(value.split()).casefold()
        ):
            errors[name] = [
                f"{label} tidak dapat diubah di formulir: diambil dari data identitas {whose} yang dicatat "
                "Otoritas Pendaftaran. Hubungi Admin bila data tersebut keliru."
            ]
        elif not value and field.required:
            errors[name] = [NOT_RECORDED]
        values[name] = value
    return values, errors
