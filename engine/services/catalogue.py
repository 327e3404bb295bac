"""The catalogue a modeler and a linter offer and check (spec9.md shape): forms, operators, lane roles, settings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from engine import registry, sandbox
from engine.services import runtime_context
from engine.services.access import LANE_ROLES

ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def describe() -> dict[str, Any]:
    """The catalogue of this app: what GET /api/v1/catalogue and `sertel catalogue --json` answer."""
    registry.discover()
    return {
        "forms": _forms(),
        "operators": _operators(),
        "roles": [{"lane": lane, "role": role} for lane, role in sorted(LANE_ROLES.items())],
        "settings": _settings(runtime_context.settings()),
    }


def _forms() -> list[dict[str, Any]]:
    # registry.forms() lists Form records (name, schema, title) or maps a name to its schema class.
    found: Any = registry.forms()
    entries: Iterable[tuple[str, Any, str]]
    if isinstance(found, Mapping):
        entries = ((str(name), schema, str(name)) for name, schema in found.items())
    else:
        entries = ((form.name, form.schema, getattr(form, "title", "") or form.name) for form in found)
    return [
        {"name": name, "title": title, "fields": _fields(schema)}
        for name, schema, title in sorted(entries, key=lambda entry: entry[0])
    ]


def _fields(schema: Any) -> list[dict[str, Any]]:
    declared: Mapping[str, Any] = getattr(schema, "_declared_fields", None) or {}
    return [{"name": name, "required": bool(getattr(field, "required", False))} for name, field in declared.items()]


def _operators() -> list[dict[str, Any]]:
    # Every version when the registry keeps several; one entry per operator (its newest version's
    # parameters), with every version listed so a diagram may pin one.
    every: Any = getattr(registry, "all_operator_versions", registry.operators)()
    by_name: dict[str, list[Any]] = {}
    for op in every:
        by_name.setdefault(op.name, []).append(op)
    answer = []
    for name in sorted(by_name):
        ops = sorted(by_name[name], key=lambda op: int(getattr(op, "version", 1)))
        newest = ops[-1]
        # None: the operator declares no parameters at all (older handlers), so nothing can be checked.
        params: Mapping[str, Any] | None = getattr(newest, "params", None)
        answer.append(
            {
                "name": name,
                "version": int(getattr(newest, "version", 1)),
                "versions": [int(getattr(op, "version", 1)) for op in ops],
                "doc": newest.doc,
                "params": None
                if params is None
                else [
                    {
                        "name": param_name,
                        "type": str(getattr(param, "type", "any")),
                        "required": bool(getattr(param, "required", True)),
                        "doc": str(getattr(param, "doc", "")),
                        "choices": list(param.choices) if getattr(param, "choices", None) else None,
                    }
                    for param_name, param in params.items()
                ],
                "results": list(getattr(newest, "results", ()) or ()),
            }
        )
    return answer


def _settings(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    # Only what setting() lets a diagram read (never secrets), named as diagrams write them (lower case).
    answer = []
    for name in sorted(settings):
        if name not in sandbox.DIAGRAM_SETTINGS and not name.startswith(sandbox.DIAGRAM_SETTING_PREFIXES):
            continue
        value = settings[name]
        answer.append({"name": name.lower(), "default": value, "kind": _kind(value)})
    return answer


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str) and ISO_DURATION.match(value):
        return "duration"
    return "str"
