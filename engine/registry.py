"""Registry of service-task operators and user-task form schemas, discovered from handlers/."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

Handler = Callable[[Any], dict[str, Any]]


class RegistryError(RuntimeError):
    """An operator or form is registered twice, or asked for but unknown."""


@dataclass(frozen=True)
class Operator:
    """A registered service-task handler."""

    name: str
    func: Handler
    doc: str
    module: str


_operators: dict[str, Operator] = {}
_forms: dict[str, type[Schema]] = {}
_discovered: set[str] = set()


def service_task(name: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of the service-task operator `name`."""

    def register(func: Handler) -> Handler:
        existing = _operators.get(name)
        if existing and existing.func is not func:
            raise RegistryError(f"operator {name!r} registered twice ({existing.module}, {func.__module__})")
        _operators[name] = Operator(name, func, inspect.getdoc(func) or "", func.__module__)
        return func

    return register


def form_schema(key: str) -> Callable[[type[Schema]], type[Schema]]:
    """Register a marshmallow schema as the rules of the user-task form `<sop_key>.<task_id>`."""

    def register(schema: type[Schema]) -> type[Schema]:
        existing = _forms.get(key)
        if existing and existing is not schema:
            raise RegistryError(f"form schema {key!r} registered twice")
        _forms[key] = schema
        return schema

    return register


def discover(package: str = "handlers") -> None:
    """Import every module of the handlers package so their decorators register."""
    if package in _discovered:
        return
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        importlib.import_module(info.name)
    _discovered.add(package)


def operator(name: str) -> Operator:
    """Return the operator registered under `name`, or raise RegistryError."""
    try:
        return _operators[name]
    except KeyError:
        raise RegistryError(f"operator {name!r} tidak terdaftar") from None


def has_operator(name: str) -> bool:
    """Tell whether an operator is registered."""
    return name in _operators


def operators() -> list[Operator]:
    """List the registered operators, sorted by name (for deploy checks and the modeler)."""
    return sorted(_operators.values(), key=lambda op: op.name)


def form_for(key: str) -> type[Schema] | None:
    """Return the schema registered for a form key, if any."""
    return _forms.get(key)


def forms() -> dict[str, type[Schema]]:
    """All registered form schemas by key."""
    return dict(_forms)
