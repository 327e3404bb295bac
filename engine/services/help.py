"""The help section (/bantuan): each SOP explained, with what its current diagram asks of people.

What a SOP is for and which official forms it uses is written here (from the seed and docs); the steps
people take, and the documents they upload, are read from the SOP's current published diagram and the
forms catalogue, so the help never disagrees with the procedure that runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from engine import registry
from engine.runtime import BPMN_NS as BPMN
from engine.runtime import SERTEL_NS as SERTEL
from engine.services import deploy


@dataclass(frozen=True)
class SopText:
    """What the help says of a SOP besides what its diagram shows."""

    number: str
    title: str
    purpose: str
    who: str
    forms: tuple[str, ...]
    documents: tuple[str, ...]


FORM_REGISTRATION = "Formulir Pendaftaran Sertifikat Elektronik untuk Individu"
FORM_RECOMMENDATION = "Formulir Rekomendasi Permohonan Penerbitan Sertifikat Elektronik untuk Individu"
FORM_REVOCATION = "Formulir Pernyataan Pencabutan Sertifikat Elektronik"
FORM_PASSPHRASE = "Formulir Pernyataan Lupa Passphrase"
ASN_DOCUMENTS = (
    "Pindaian KTP",
    "Bukti status ASN (SK atau kartu pegawai); bagi Wali Kota, Wakil Wali Kota atau pihak lain: SK pelantikan "
    "atau dokumen yang sesuai",
    "Alamat e-mail dinas (@pekalongankota.go.id)",
)

# In the seed's order (SOP Dinas Kominfo Kota Pekalongan 088.9 to 088.14).
SOPS: dict[str, SopText] = {
    "issuance_ams": SopText(
        "088.9",
        "Penerbitan Sertifikat Elektronik BSrE untuk Individu Menggunakan AMS",
        "Menerbitkan Sertifikat Elektronik BSrE bagi seorang pemilik. Pasangan kunci dibuat di perangkat pemohon "
        "sendiri; Otoritas Pendaftaran memverifikasi permohonan lalu mendaftarkannya ke PSrE melalui AMS.",
        "Wali Kota, Wakil Wali Kota, ASN Pemerintah Kota Pekalongan, dan pihak lain yang diatur Otoritas "
        "Pendaftaran. Kepala Perangkat Daerah pemohon memberi rekomendasi.",
        (FORM_REGISTRATION, FORM_RECOMMENDATION),
        ASN_DOCUMENTS,
    ),
    "renewal_rekey": SopText(
        "088.10",
        "Pembaruan Sertifikat Elektronik BSrE dengan Penggantian Pasangan Kunci Menggunakan AMS",
        "Memperbarui sertifikat sebelum masa berlakunya habis dengan pasangan kunci baru. Sertifikat lama dicabut "
        "(digantikan) setelah sertifikat baru terbit.",
        "Pemilik sertifikat AMS yang masih aktif.",
        (f"{FORM_REGISTRATION} (pembaruan)",),
        ("Data diambil dari sertifikat dan data pemilik; dokumen baru hanya bila data berubah",),
    ),
    "revocation": SopText(
        "088.11",
        "Pencabutan Sertifikat Elektronik BSrE",
        "Mencabut sertifikat (AMS maupun eSign) yang tidak boleh dipakai lagi: kunci privat bocor atau hilang, "
        "data salah, pemilik bukan ASN lagi, atau sertifikat digantikan. Pencabutan karena kunci bocor "
        "diproses lewat jalur cepat. Setelah dicabut, CRL dan OCSP langsung menunjukkannya.",
        "Pemilik sertifikat; Kepala Perangkat Daerah pemilik; atau petugas Otoritas Pendaftaran atas nama "
        "pemilik (misalnya ASN yang berhenti).",
        (FORM_REVOCATION,),
        ("Surat permintaan pencabutan, bila petugas mengisi atas permintaan pihak lain",),
    ),
    "data_change": SopText(
        "088.12",
        "Perubahan Data Pemohon Sertifikat Elektronik Menggunakan AMS",
        "Mengubah nama, jabatan, perangkat daerah atau e-mail pemilik. Karena isi sertifikat tidak dapat diubah, "
        "PSrE menerbitkan ulang sertifikat dengan data baru dan mencabut yang lama.",
        "Pemilik sertifikat yang masih aktif.",
        (f"{FORM_REGISTRATION} (perubahan data)",),
        ("Bukti perubahan data (misalnya SK mutasi atau SK jabatan)",),
    ),
    "passphrase_lock": SopText(
        "088.13",
        "Penanggulangan Jika Lupa Passphrase Sertifikat Elektronik (LOCK)",
        "Memulihkan penandatanganan bila passphrase eSign terlupa atau kunci terkunci (LOCK) karena passphrase "
        "salah berulang kali. Pemilik menetapkan passphrase baru melalui tautan sekali pakai; kunci dan "
        "sertifikat baru diterbitkan dan yang lama dicabut.",
        "Pemilik sertifikat eSign.",
        (FORM_PASSPHRASE,),
        ("Pindaian KTP",),
    ),
    "issuance_esign": SopText(
        "088.14",
        "Penerbitan Sertifikat Elektronik untuk Individu Menggunakan Metode eSign",
        "Menerbitkan sertifikat yang kuncinya disimpan PSrE (eSign BSrE) dan dibuka dengan passphrase pemilik. "
        "Tidak ada berkas kunci yang diserahkan: penandatanganan memakai NIK dan passphrase.",
        "Wali Kota, Wakil Wali Kota, ASN Pemerintah Kota Pekalongan, dan pihak lain yang diatur Otoritas "
        "Pendaftaran. Kepala Perangkat Daerah pemohon memberi rekomendasi.",
        (FORM_REGISTRATION, FORM_RECOMMENDATION),
        (*ASN_DOCUMENTS, "Foto KTP dan swafoto saat aktivasi"),
    ),
}


@dataclass(frozen=True)
class Step:
    """A step people take in a SOP (a user task or shared step of its diagram): its name, who, what they upload."""

    label: str
    lane: str
    uploads: tuple[str, ...] = ()


@dataclass(frozen=True)
class SopHelp:
    """One section of /bantuan."""

    key: str
    text: SopText
    version: int | None
    steps: tuple[Step, ...] = field(default_factory=tuple)


def _form_uploads(form_name: str) -> tuple[str, ...]:
    """The labels of the documents a catalogue form takes (its upload fields)."""
    schema = registry.form_for(form_name)
    if schema is None:
        return ()
    found: list[str] = []
    for form_field in registry.schema_fields(schema).values():
        metadata: Mapping[str, Any] = form_field.metadata or {}
        if metadata.get("document"):
            label = str(metadata.get("label") or "Dokumen")
            found.append(label if form_field.required else f"{label} (bila ada)")
    return tuple(found)


@lru_cache(maxsize=16)
def _asks_people(process_id: str) -> bool:
    """Tell whether a shared process (processes/common/<id>.bpmn) has a step a person does."""
    path = Path(deploy.PROCESSES_DIR) / "common" / f"{process_id}.bpmn"
    if not path.is_file():
        return False
    return etree.parse(str(path)).getroot().find(f".//{{{BPMN}}}userTask") is not None


@lru_cache(maxsize=64)
def _steps(xml: str) -> tuple[Step, ...]:
    """The user tasks and shared steps (call activities) of a diagram in document order, with their lane and uploads."""
    root = etree.fromstring(xml.encode("utf-8"))
    lanes: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN}}}lane"):
        for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
            lanes[(ref.text or "").strip()] = lane.get("name", "")
    steps = []
    for task in root.iter(f"{{{BPMN}}}userTask", f"{{{BPMN}}}callActivity"):
        if etree.QName(task).localname == "callActivity" and not _asks_people(task.get("calledElement", "")):
            continue  # a shared step only the system runs (archiving): on the diagram, not in this table
        form = task.find(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}form")
        name = form.get("name", "") if form is not None else ""
        lane = lanes.get(task.get("id", ""), "")
        steps.append(Step(task.get("name", task.get("id", "")), lane, _form_uploads(name) if name else ()))
    return tuple(steps)


def sections() -> list[SopHelp]:
    """One help section per SOP, in the seed's order, with its current diagram's steps (if published)."""
    found = []
    for key, text in SOPS.items():
        current = deploy.latest(key)
        found.append(SopHelp(key, text, current.version if current else None, _steps(current.xml) if current else ()))
    return found


def diagram_xml(key: str) -> str | None:
    """The current published diagram of a SOP (None for an unknown or unpublished key)."""
    if key not in SOPS:
        return None
    current = deploy.latest(key)
    return current.xml if current else None
