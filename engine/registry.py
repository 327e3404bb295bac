"""Registry of service-task operators and the forms catalogue (user-task forms by name), discovered from handlers/."""

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


@dataclass(frozen=True)
class Form:
    """A catalogue form: its name (what a diagram's `<sertel:form name>` says), schema and human title.

    Its template is `webforms/<name>.html`; one form may serve several user tasks and processes.
    """

    name: str
    schema: type[Schema]
    title: str
    module: str

    @property
    def template(self) -> str:
        """The webform template, relative to webforms/."""
        return f"{self.name}.html"


_operators: dict[str, Operator] = {}
_forms: dict[str, Form] = {}
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


def form_schema(name: str, title: str = "") -> Callable[[type[Schema]], type[Schema]]:
    """Register a marshmallow schema as the catalogue form `name` (a process start form is `<process>.start`).

    The title defaults to the first line of the schema's docstring.
    """

    def register(schema: type[Schema]) -> type[Schema]:
        existing = _forms.get(name)
        if existing and existing.schema is not schema:
            raise RegistryError(f"form {name!r} registered twice ({existing.module}, {schema.__module__})")
        doc = (inspect.getdoc(schema) or "").splitlines()
        _forms[name] = Form(name, schema, title or (doc[0] if doc else name), schema.__module__)
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


def form_for(name: str) -> type[Schema] | None:
    """Return the schema of the catalogue form `name`, if any."""
    found = _forms.get(name)
    return found.schema if found else None


def form(name: str) -> Form | None:
    """Return the catalogue form `name`, if any."""
    return _forms.get(name)


def forms() -> list[Form]:
    """The forms catalogue, sorted by name."""
    return sorted(_forms.values(), key=lambda f: f.name)
