"""What a diagram may name: forms, start data, operators with their parameters, lanes and settings.

`build_catalogue` reads today's registry; it is the one place to adapt when the registry's metadata changes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import registry, sandbox

# The names `cases.start_case` seeds into every case besides the start form's fields.
ENGINE_START_NAMES = frozenset({"started_by"})


@dataclass(frozen=True)
class ParamInfo:
    """One declared operator parameter."""

    type: str = "any"
    required: bool = True
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class OperatorInfo:
    """One version of an operator: its parameters (None when it declares none) and result fields."""

    params: Mapping[str, ParamInfo] | None = None
    results: frozenset[str] = frozenset()


# (operator name, version, {parameter: value expression}) -> messages; the registry's own check, when it has one.
ParameterCheck = Callable[[str, int, Mapping[str, str]], list[str]]


@dataclass(frozen=True)
class Catalogue:
    """What a diagram may name: forms, start data, operators, lanes and settings."""

    forms: Mapping[str, frozenset[str]]  # form name -> field names
    start_names: frozenset[str]  # data every case starts with, whatever its start form
    operators: Mapping[str, Mapping[int, OperatorInfo]]  # operator id -> version -> info
    lane_roles: frozenset[str]  # lane names mapped to a role
    setting_names: frozenset[str]  # lower-case names `setting()` may read
    setting_defaults: Mapping[str, Any] = field(default_factory=dict)  # lower-case name -> default value
    # Does the form's template webforms/<name>.html exist? None: not checked.
    template_exists: Callable[[str], bool] | None = None
    parameter_problems: ParameterCheck | None = None


def build_catalogue(
    lane_roles: Iterable[str],
    settings: Mapping[str, Any],
    template_exists: Callable[[str], bool] | None = None,
) -> Catalogue:
    """The catalogue of today's registry (handlers discovered), settings and webform templates."""
    operators: dict[str, dict[int, OperatorInfo]] = {}
    for op in registry.all_operator_versions():
        version = int(op.version)
        declared = getattr(op, "params", None)
        params = (
            {name: ParamInfo(str(p.type), bool(p.required), _choices(p)) for name, p in declared.items()}
            if declared is not None
            else None
        )
        operators.setdefault(op.name, {})[version] = OperatorInfo(params, frozenset(getattr(op, "results", ()) or ()))
    visible = {
        name: value
        for name, value in settings.items()
        if name in sandbox.DIAGRAM_SETTINGS or name.startswith(sandbox.DIAGRAM_SETTING_PREFIXES)
    }
    return Catalogue(
        forms={f.name: _form_fields(f.schema) for f in registry.forms()},
        start_names=ENGINE_START_NAMES,
        operators=operators,
        lane_roles=frozenset(lane_roles),
        setting_names=frozenset(name.lower() for name in visible),
        setting_defaults={name.lower(): value for name, value in visible.items()},
        template_exists=template_exists,
    )


def _choices(param: Any) -> tuple[Any, ...] | None:
    choices = getattr(param, "choices", None)
    return tuple(choices) if choices else None


def _form_fields(schema: Any) -> frozenset[str]:
    declared = getattr(schema, "_declared_fields", None) or {}
    return frozenset(declared)


def parameter_problems(operator_id: str, info: OperatorInfo, values: Mapping[str, str]) -> list[str]:
    """Parameters against the operator's declaration: required present, none unknown, literals valid."""
    if info.params is None:
        return []
    found: list[str] = []
    for name, param in info.params.items():
        if param.required and name not in values:
            found.append(f"parameter wajib '{name}' untuk operator '{operator_id}' tidak diisi")
    for name, text in values.items():
        declared = info.params.get(name)
        if declared is None:
            known = ", ".join(sorted(info.params)) or "tidak ada"
            found.append(f"parameter '{name}' tidak dikenal operator '{operator_id}' (parameter yang ada: {known})")
            continue
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue  # an expression over case data: checked by its names, its value is known only at run time
        expected = registry.PARAM_TYPES.get(declared.type)
        if expected and (not isinstance(value, expected) or (declared.type == "int" and isinstance(value, bool))):
            found.append(f"parameter '{name}' harus bertipe {declared.type}, bukan {text}")
        elif declared.choices is not None and value not in declared.choices:
            listed = ", ".join(repr(c) for c in declared.choices)
            found.append(f"parameter '{name}' bernilai {text}, padahal pilihannya: {listed}")
    return found
