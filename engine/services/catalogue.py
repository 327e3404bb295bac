"""What a diagram may name, for the modeler and the linter: forms, operators, lane roles and readable settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import registry, runtime, sandbox
from engine.services.access import LANE_ROLES
from engine.services.runtime_context import settings


def catalogue() -> dict[str, Any]:
    """The forms catalogue, the operators with their parameters and results, lane roles and diagram settings."""
    registry.discover("handlers")
    return {
        "forms": [form_entry(form) for form in registry.forms()],
        "operators": operator_entries(),
        "roles": [{"lane": lane, "role": role} for lane, role in sorted(LANE_ROLES.items())],
        "settings": setting_entries(settings()),
    }


def form_entry(form: registry.Form) -> dict[str, Any]:
    """A catalogue form: name, title, template and its fields (name, required, and how the engine treats it)."""
    fields = []
    for name, field in registry.schema_fields(form.schema).items():
        if field.dump_only:
            continue
        entry: dict[str, Any] = {"name": name, "required": bool(field.required)}
        label = field.metadata.get("label")
        if label:
            entry["label"] = label
        for flag in ("document", "secret"):
            if field.metadata.get(flag):
                entry[flag] = True
        if field.metadata.get("bound"):
            entry["bound"] = field.metadata["bound"]
        fields.append(entry)
    return {"name": form.name, "title": form.title, "template": f"webforms/{form.template}", "fields": fields}


def operator_entries() -> list[dict[str, Any]]:
    """Registered operators, one entry per name (the newest version), listing every version registered."""
    by_name: dict[str, list[Any]] = {}
    for op in registry.operators():
        by_name.setdefault(op.name, []).append(op)
    entries = []
    for name, ops in sorted(by_name.items()):
        newest = max(ops, key=lambda o: int(getattr(o, "version", 1) or 1))
        entries.append(
            {
                "name": name,
                "version": int(getattr(newest, "version", 1) or 1),
                "versions": sorted({int(getattr(o, "version", 1) or 1) for o in ops}),
                "doc": newest.doc,
                "params": [param_entry(n, p) for n, p in (getattr(newest, "params", None) or {}).items()],
                "results": list(getattr(newest, "results", None) or ()),
            }
        )
    return entries


def param_entry(name: str, param: Any) -> dict[str, Any]:
    """An operator parameter as the catalogue lists it."""
    entry: dict[str, Any] = {
        "name": name,
        "type": str(getattr(param, "type", "any")),
        "required": bool(getattr(param, "required", True)),
        "doc": str(getattr(param, "doc", "") or ""),
    }
    choices = getattr(param, "choices", None)
    if choices:
        entry["choices"] = list(choices)
    return entry


def setting_entries(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The settings a diagram may read with `setting(name)` (its default here), and what kind of value each is."""
    entries = []
    for key in sorted(k for k in config if sandbox.diagram_may_read(k)):
        default = config[key]
        entries.append({"name": key.lower(), "default": default, "kind": setting_kind(default)})
    return entries


def setting_kind(value: Any) -> str:
    """The kind of a setting value: duration (ISO 8601), int, bool or str."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    try:
        runtime.parse_duration(str(value))
    except ValueError:
        return "str"
    return "duration"
