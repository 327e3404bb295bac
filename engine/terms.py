"""The texts an owner accepts (obligations and prohibitions) and the legal bases, as the seed states them.

Pure tables with no Flask and no database: the web layer shows them (webforms/_obligations.html, the footer,
/bantuan) and the handlers record which version of the accepted text a person ticked (through
engine.handler_api). The version of a text is the SHA-256 of exactly what is shown, so a changed word is a
new version and an old acceptance keeps naming the text its owner read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

# The two kinds of certificate an owner accepts the text for: a key pair on their own device (AMS) or a key
# held by the PSrE and unlocked with a passphrase (eSign). Only the passphrase obligation is worded apart.
TERMS_KINDS = ("ams", "esign")

OBLIGATIONS_TITLE = "Kewajiban Pemilik Sertifikat Elektronik"
PROHIBITIONS_TITLE = "Larangan bagi Pengguna Sertifikat Elektronik"

_OBLIGATIONS_BEFORE = (
    "Memastikan semua informasi yang diberikan ke Dinas adalah benar.",
    "Melindungi Sertifikat Elektronik agar tidak digunakan oleh orang lain.",
    "Mengajukan permohonan pencabutan jika mengetahui atau mencurigai sertifikat digunakan orang lain, ada "
    "kesalahan informasi, atau kunci privat hilang atau bocor.",
)
_SECRET = {
    "ams": "Melindungi kerahasiaan kunci privat, passphrase atau password yang digunakan untuk mengaktifkan "
    "kunci privat.",
    "esign": "Melindungi kerahasiaan passphrase yang digunakan untuk mengaktifkan kunci privat; jangan "
    "memberikannya kepada siapa pun, termasuk petugas.",
}
_OBLIGATIONS_AFTER = (
    "Tidak mengubah, mengganggu, melakukan reverse-engineering, atau berusaha membocorkan layanan keamanan yang "
    "disediakan Dinas.",
    "Bertanggung jawab atas penggunaan, penyimpanan, pembaruan dan pemusnahan Sertifikat Elektronik dan kunci "
    "privatnya.",
)

# The seed's four prohibitions ("Pengguna Sertifikat Elektronik dilarang: ..."); the third has two cases.
PROHIBITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Mengakses sistem yang bukan merupakan haknya.", ()),
    (
        "Mengabaikan prinsip kehati-hatian guna menghindari penggunaan secara tidak sah terhadap data terkait "
        "pembuatan tanda tangan elektronik.",
        (),
    ),
    (
        "Menunda-nunda untuk segera memberitahukan kepada seseorang yang oleh penanda tangan dianggap mempercayai "
        "tanda tangan elektronik atau kepada pihak pendukung layanan tanda tangan elektronik dalam hal:",
        (
            "penanda tangan mengetahui bahwa data pembuatan tanda tangan elektronik telah dibobol; dan/atau",
            "keadaan yang diketahui oleh penanda tangan dapat menimbulkan risiko yang berarti, dicurigai karena "
            "kemungkinan bobolnya data pembuatan tanda tangan elektronik.",
        ),
    ),
    (
        "Menyampaikan fotokopi dokumen yang tidak sesuai dengan aslinya dan/atau dokumen yang dengan sengaja "
        "dipalsukan sebagai persyaratan permintaan Sertifikat Elektronik.",
        (),
    ),
)


@dataclass(frozen=True)
class LegalBasis:
    """A rule the RA works under, as cited in the footer (`short`) and the help pages (`title`)."""

    short: str
    title: str


# Every legal basis the seed names, in its order (the SOPs are listed in the help section, one each).
LEGAL_BASES: tuple[LegalBasis, ...] = (
    LegalBasis(
        "PP 71/2019", "Peraturan Pemerintah Nomor 71 Tahun 2019 tentang Penyelenggaraan Sistem dan Transaksi Elektronik"
    ),
    LegalBasis(
        "Perpres 95/2018", "Peraturan Presiden Nomor 95 Tahun 2018 tentang Sistem Pemerintahan Berbasis Elektronik"
    ),
    LegalBasis(
        "Perda Kota Pekalongan 4/2021",
        "Peraturan Daerah Kota Pekalongan Nomor 4 Tahun 2021 tentang Sistem Pemerintahan Berbasis Elektronik",
    ),
    LegalBasis(
        "Perwal Kota Pekalongan 33/2021",
        "Peraturan Wali Kota Pekalongan Nomor 33 Tahun 2021 tentang Penggunaan Sertifikat Elektronik dan Tanda "
        "Tangan Elektronik",
    ),
    LegalBasis(
        "PKS dengan BSrE (2018)",
        "Perjanjian Kerja Sama Pemerintah Kota Pekalongan dengan Balai Sertifikasi Elektronik (BSrE) Badan Siber "
        "dan Sandi Negara tentang Pemanfaatan Sertifikat Elektronik pada Sistem Elektronik di Pemerintah Kota "
        "Pekalongan (2018)",
    ),
)


def obligations(kind: str) -> tuple[str, ...]:
    """The owner's obligations for a kind of certificate ("ams" or "esign")."""
    if kind not in TERMS_KINDS:
        raise ValueError(f"unknown terms kind {kind!r}")
    return (*_OBLIGATIONS_BEFORE, _SECRET[kind], *_OBLIGATIONS_AFTER)


@dataclass(frozen=True)
class OwnerTerms:
    """The text an owner accepts: obligations and prohibitions, with the version naming exactly this text."""

    kind: str
    obligations: tuple[str, ...]
    prohibitions: tuple[tuple[str, tuple[str, ...]], ...]
    sha256: str

    @property
    def version(self) -> str:
        """The short version id people see and the case records (the first 12 hex digits of the SHA-256)."""
        return self.sha256[:12]

    def record(self) -> dict[str, str]:
        """What a form records of the accepted text next to the ticked box."""
        return {"accepted_terms_version": self.version, "accepted_terms_sha256": self.sha256}


def owner_terms(kind: str) -> OwnerTerms:
    """The obligations and prohibitions shown for a kind of certificate, with their version."""
    items = obligations(kind)
    canonical = json.dumps(
        {
            OBLIGATIONS_TITLE: list(items),
            PROHIBITIONS_TITLE: [[text, list(cases)] for text, cases in PROHIBITIONS],
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return OwnerTerms(kind, items, PROHIBITIONS, hashlib.sha256(canonical.encode("utf-8")).hexdigest())
