"""Evaluate the parameters a shipped diagram passes to its service tasks, as the engine would.

Handler tests build their contexts from case data through these, so they exercise the handler with
exactly what processes/*.bpmn gives it (a parameter whose data is missing is left out, as a test of
missing data wants).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lxml import etree

from engine import runtime
from engine.config import ROOT

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ENVIRONMENT = runtime.SandboxedEnvironment({})


def diagram_path(process: str) -> str:
    common = ROOT / "processes" / "common" / f"{process}.bpmn"
    return str(common if common.exists() else ROOT / "processes" / f"{process}.bpmn")


@cache
def expressions(process: str, task_id: str) -> dict[str, str]:
    """The parameter expressions of one service task of a shipped diagram."""
    root = etree.parse(diagram_path(process)).getroot()
    (task,) = [t for t in root.iter(f"{{{BPMN_NS}}}serviceTask") if t.get("id") == task_id]
    return {str(p.get("id")): str(p.get("value")) for p in task.iter(f"{{{SPIFF_NS}}}parameter")}


def evaluate(exprs: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    """Evaluate parameter expressions against case data; a parameter whose data is missing is left out."""
    params: dict[str, Any] = {}
    for name, expression in exprs.items():
        try:
            params[name] = ENVIRONMENT.evaluate(expression, dict(data))
        except (NameError, KeyError, TypeError):
            continue
    return params


def params_for(process: str, task_ids: tuple[str, ...], data: dict[str, Any]) -> dict[str, Any]:
    """What the engine would hand the handlers of these tasks of `process` as ctx.params, given `data`.

    Each task's parameters are evaluated on their own; a name two tasks share takes the value of the
    later task whose expression could be evaluated on `data`.
    """
    params: dict[str, Any] = {}
    for task_id in task_ids:
        params.update(evaluate(expressions(process, task_id), data))
    return params
