"""Server-held keys follow the certificate: the serial a report names, its invalidity date, destruction records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from engine.handler_api import HandlerContext, HandlerError
from handlers.common import pki_failure
from pki.errors import PkiError

# Pekalongan keeps WIB (UTC+7, no daylight saving): an incident date is a local calendar day.
WIB = timezone(timedelta(hours=7), "WIB")


def request_serial(ctx: HandlerContext) -> str:
    """The serial of the certificate a revocation step acts on (the parameter `serial` its diagram passes)."""
    serial = ctx.params.get("serial")
    if not serial:
        raise HandlerError("Sertifikat yang akan dicabut tidak ditemukan pada data kasus.")
    return str(serial)


def invalidity_date(statement: Mapping[str, Any], now: datetime | None = None) -> datetime | None:
    """The start (00:00 WIB) of the incident day the owner reported, in UTC; never after `now`.

    The start of the day, not the hour of filing: a signature made on the day the key leaked cannot be
    shown to predate the leak, so it must not validate.
    """
    raw = str(statement.get("incident_date") or "")[:10]
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    moment = datetime.combine(day, time(0, 0), tzinfo=WIB).astimezone(UTC)
    return min(moment, (now or datetime.now(UTC)).replace(microsecond=0))


def destroyed_keys(ctx: HandlerContext, serials: Iterable[str]) -> list[str]:
    """Of these certificates, the ones whose server-held key the PSrE reports destroyed (for the case log)."""
    destroyed = []
    for serial in serials:
        try:
            if ctx.psre.certificate_status(serial).key_destroyed:
                destroyed.append(serial)
        except PkiError as err:
            raise pki_failure(err) from err
    return destroyed
