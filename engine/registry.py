"""Registry of service-task operators and the forms catalogue (user-task forms by name), discovered from handlers/."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from marshmallow import Schema
from marshmallow.fields import Field

Handler = Callable[[Any], dict[str, Any]]


class RegistryError(RuntimeError):
    """An operator or form is registered twice, or asked for but unknown."""


PARAM_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
    "any": (object,),
}


@dataclass(frozen=True)
class Param:
    """A parameter an operator declares: its type, whether a diagram must give it, and its allowed values."""

    type: str = "any"
    required: bool = True
    doc: str = ""
    choices: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise RegistryError(f"parameter type {self.type!r} unknown (one of {', '.join(PARAM_TYPES)})")
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))

    def accepts(self, value: Any) -> bool:
        """Tell whether a value has this parameter's type (bool is not an int here)."""
        if self.type == "int" and isinstance(value, bool):
            return False
        return isinstance(value, PARAM_TYPES[self.type])


@dataclass(frozen=True)
class Operator:
    """A registered service-task handler, one version of an operator."""

    name: str
    func: Handler
    doc: str
    module: str
    version: int = 1
    params: Mapping[str, Param] = field(default_factory=dict)
    results: tuple[str, ...] = ()

    @property
    def pinned_id(self) -> str:
        """The id a diagram uses to call exactly this version: "name@version"."""
        return f"{self.name}@{self.version}"


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


_operators: dict[tuple[str, int], Operator] = {}
_forms: dict[str, Form] = {}
_discovered: set[str] = set()


def service_task(
    name: str,
    version: int = 1,
    params: Mapping[str, Param] | None = None,
    results: tuple[str, ...] | list[str] = (),
) -> Callable[[Handler], Handler]:
    """Register a function as version `version` of the service-task operator `name`.

    `params` are the parameters a diagram passes (each evaluated against the case data at run time and
    handed to the handler as ctx.params); `results` are the fields of what the handler returns.
    """
    if "@" in name:
        raise RegistryError(f"operator name {name!r} must not contain '@'")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RegistryError(f"operator {name!r}: version must be a positive integer")

    def register(func: Handler) -> Handler:
        existing = _operators.get((name, version))
        if existing and existing.func is not func:
            raise RegistryError(
                f"operator {name!r} version {version} registered twice ({existing.module}, {func.__module__})"
            )
        _operators[(name, version)] = Operator(
            name, func, inspect.getdoc(func) or "", func.__module__, version, dict(params or {}), tuple(results)
        )
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


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def split_operator_id(operator_id: str) -> tuple[str, int | None]:
    """Split a diagram's operator id "name@N" into (name, N); an unpinned id gives (name, None).

    A version that is not a positive integer raises RegistryError.
    """
    name, sep, version = operator_id.partition("@")
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise RegistryError(f"versi operator '{operator_id}' tidak valid (harus bilangan bulat positif)")
    return name, int(version)


def versions(name: str) -> list[int]:
    """The registered versions of an operator, oldest first (empty when unknown)."""
    return sorted(v for (n, v) in _operators if n == name)


def operator(name: str, version: int | None = None) -> Operator:
    """Return an operator: `name` may be a pinned id "name@N"; no version means the newest one.

    Raises RegistryError for an unknown operator or version.
    """
    base, pinned = split_operator_id(name)
    if version is not None and pinned is not None and version != pinned:
        raise RegistryError(f"operator '{name}' diminta dengan versi {version}")
    wanted = version if version is not None else pinned
    known = versions(base)
    if not known:
        raise RegistryError(f"operator '{base}' tidak terdaftar")
    if wanted is None:
        return _operators[(base, known[-1])]
    if wanted not in known:
        listed = ", ".join(str(v) for v in known)
        raise RegistryError(f"operator '{base}' versi {wanted} tidak terdaftar (versi yang ada: {listed})")
    return _operators[(base, wanted)]


def has_operator(name: str) -> bool:
    """Tell whether an operator (or, for "name@N", that version of it) is registered."""
    try:
        operator(name)
    except RegistryError:
        return False
    return True


def operators() -> list[Operator]:
    """The newest version of every registered operator, sorted by name (for deploy checks and the modeler)."""
    names = sorted({n for (n, _v) in _operators})
    return [operator(n) for n in names]


def all_operator_versions() -> list[Operator]:
    """Every registered version of every operator, by name then version."""
    return [_operators[key] for key in sorted(_operators)]


def operator_catalogue() -> list[dict[str, Any]]:
    """The operators as the catalogue lists them (newest version of each, with every version number)."""
    return [
        {
            "name": op.name,
            "version": op.version,
            "versions": versions(op.name),
            "doc": op.doc,
            "params": [
                {
                    "name": name,
                    "type": spec.type,
                    "required": spec.required,
                    "doc": spec.doc,
                    **({"choices": list(spec.choices)} if spec.choices is not None else {}),
                }
                for name, spec in op.params.items()
            ],
            "results": list(op.results),
        }
        for op in operators()
    ]


def pin_operator_versions(xml: str) -> str:
    """Pin every unpinned service-task operator id of a BPMN document to the newest registered version.

    "common.notify" becomes "common.notify@2" when version 2 is the newest; ids already pinned and
    unknown operators are left as they are (the deploy checks report the latter). The rest of the
    document is kept as written.
    """
    root = etree.fromstring(xml.encode("utf-8"))
    changed = False
    for element in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
        operator_id = element.get("id") or ""
        if not operator_id or "@" in operator_id:
            continue
        known = versions(operator_id)
        if known:
            element.set("id", f"{operator_id}@{known[-1]}")
            changed = True
    if not changed:
        return xml
    text: bytes = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    return text.decode("utf-8") + ("\n" if xml.endswith("\n") else "")


def literal_value(expression: str) -> tuple[bool, Any]:
    """(True, value) when a parameter expression is a Python literal ('x', 3, True, {...}), else (False, None)."""
    try:
        return True, ast.literal_eval(expression.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def parameter_problems(
    operator_id: str, given_param_names: Iterable[str], literal_values: Mapping[str, Any] | None = None
) -> list[str]:
    """What is wrong with a service task's call of an operator, as messages (Indonesian) for the deploy checks.

    `given_param_names` are the parameters the diagram passes; `literal_values` the values of those whose
    expression is a literal (see literal_value), which are checked against the declared type and choices.
    Reports an unknown operator or version, a missing required parameter, an unknown parameter, a literal
    of the wrong type and a literal outside the declared choices.
    """
    try:
        op = operator(operator_id)
    except RegistryError as exc:
        return [str(exc)]
    given = list(given_param_names)
    found: list[str] = []
    for name, spec in op.params.items():
        if spec.required and name not in given:
            found.append(f"operator '{op.pinned_id}': parameter wajib '{name}' tidak diisi")
    for name in given:
        if name not in op.params:
            declared = ", ".join(op.params) or "tidak ada"
            found.append(f"operator '{op.pinned_id}': parameter '{name}' tidak dikenal (parameter: {declared})")
    for name, value in (literal_values or {}).items():
        if name not in op.params:
            continue
        spec = op.params[name]
        if value is None and not spec.required:
            continue
        if not spec.accepts(value):
            found.append(
                f"operator '{op.pinned_id}': parameter '{name}' harus bertipe {spec.type}, bukan {type(value).__name__}"
            )
        elif spec.choices is not None and value not in spec.choices:
            allowed = ", ".join(repr(c) for c in spec.choices)
            found.append(f"operator '{op.pinned_id}': parameter '{name}' bernilai {value!r}, pilihannya: {allowed}")
    return found


def form_for(name: str) -> type[Schema] | None:
    """Return the schema of the catalogue form `name`, if any."""
    found = _forms.get(name)
    return found.schema if found else None


@functools.cache
def schema_fields(schema_class: type[Schema]) -> Mapping[str, Field[Any]]:
    """A form schema's fields (name -> field), from one instance made once per class.

    Read-only use (names, metadata, required): making an instance deep-copies every declared field, and a
    step asked for the same fields five times. Form schemas declare their fields on the class only.
    """
    return types.MappingProxyType(dict(schema_class().fields))


def form(name: str) -> Form | None:
    """Return the catalogue form `name`, if any."""
    return _forms.get(name)


def forms() -> list[Form]:
    """The forms catalogue, sorted by name."""
    return sorted(_forms.values(), key=lambda f: f.name)
