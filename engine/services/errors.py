"""Errors a use case raises; views turn them into HTTP answers."""

from __future__ import annotations


class ServiceError(Exception):
    """A use case refused; `status` is the HTTP status a view should answer with."""

    status = 400

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not visible to the user)."""

    status = 404


class Forbidden(ServiceError):
    """The user's role does not allow this."""

    status = 403


class Conflict(ServiceError):
    """The thing changed meanwhile: already completed, claimed by someone else, edited concurrently."""

    status = 409


class Invalid(ServiceError):
    """The input failed validation; `fields` maps field names to messages."""

    status = 422


class Unavailable(ServiceError):
    """An external service (the PSrE, a handler) failed; nothing was saved."""

    status = 502


class Busy(ServiceError):
    """The database stayed locked by other writers too long; nothing was saved, the user may retry."""

    status = 503
