"""The sandbox for diagram expressions and scripts: an AST whitelist, safe builtins and a step limit."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from types import CodeType, FrameType
from typing import Any

# Restricting __builtins__ alone is no sandbox (see SPIFFWORKFLOW.md); these checks are what close it.
FORBIDDEN_NODES: dict[type[ast.AST], str] = {
    ast.Import: "import tidak diizinkan",
    ast.ImportFrom: "import tidak diizinkan",
    ast.FunctionDef: "definisi fungsi tidak diizinkan",
    ast.AsyncFunctionDef: "definisi fungsi tidak diizinkan",
    ast.ClassDef: "definisi kelas tidak diizinkan",
    ast.Lambda: "lambda tidak diizinkan",
    ast.While: "perulangan while tidak diizinkan",
    ast.Global: "global tidak diizinkan",
    ast.Nonlocal: "nonlocal tidak diizinkan",
    ast.Try: "try tidak diizinkan",
    ast.With: "with tidak diizinkan",
    ast.AsyncWith: "with tidak diizinkan",
    ast.Await: "await tidak diizinkan",
    ast.Yield: "yield tidak diizinkan",
    ast.YieldFrom: "yield tidak diizinkan",
    ast.Delete: "del tidak diizinkan",
    ast.Raise: "raise tidak diizinkan",
    ast.NamedExpr: "operator := tidak diizinkan",
    # Class patterns name attributes (`case str(__class__=x)`) without an ast.Attribute node.
    ast.Match: "match tidak diizinkan",
}

# Methods a diagram may call on data (strings, lists, dicts); `format` is left out on purpose,
# since "{0.__class__}".format(x) reaches dunders without writing one.
ALLOWED_ATTRIBUTES = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "lower",
        "upper",
        "strip",
        "startswith",
        "endswith",
        "split",
        "join",
        "replace",
        "isdigit",
        "count",
        "title",
        "append",
        "isoformat",
        "year",
        "month",
        "day",
    }
)

MAX_CONSTANT_LENGTH = 10_000
MAX_RANGE = 10_000


class SandboxViolation(ValueError):
    """An expression or script uses something the sandbox does not allow."""


def _bounded_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SandboxViolation(f"range lebih dari {MAX_RANGE} langkah")
    return result


SAFE_BUILTINS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "sorted": sorted,
    "any": any,
    "all": all,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "round": round,
    "abs": abs,
    "list": list,
    "dict": dict,
    "set": set,
    "tuple": tuple,
    "enumerate": enumerate,
    "zip": zip,
    "range": _bounded_range,
    "True": True,
    "False": False,
    "None": None,
}


def problems(source: str, mode: str = "eval") -> list[str]:
    """List why `source` is not allowed in the sandbox (empty when it is)."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        return [f"sintaks tidak valid: {exc.msg}"]
    found: list[str] = []
    for node in ast.walk(tree):
        for kind, message in FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                found.append(message)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            found.append(f"nama '{node.id}' tidak diizinkan")
        elif isinstance(node, ast.Attribute) and node.attr not in ALLOWED_ATTRIBUTES:
            found.append(f"atribut '.{node.attr}' tidak diizinkan")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            found.append("operator ** tidak diizinkan")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.LShift)) and _large_constant(node):
            found.append("perkalian dengan konstanta besar tidak diizinkan")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, (str, bytes))
            and len(node.value) > MAX_CONSTANT_LENGTH
        ):
            found.append("konstanta terlalu panjang")
    return sorted(set(found))


def _large_constant(node: ast.BinOp) -> bool:
    """Tell whether a multiplication has an int operand above MAX_RANGE (a repetition or memory bomb)."""
    return any(
        isinstance(side, ast.Constant) and isinstance(side.value, int) and abs(side.value) > MAX_RANGE
        for side in (node.left, node.right)
    )


def compile_checked(source: str, mode: str = "eval") -> CodeType:
    """Compile `source` after the whitelist check, or raise SandboxViolation."""
    found = problems(source, mode)
    if found:
        raise SandboxViolation(f"Ekspresi '{source}' ditolak: " + "; ".join(found))
    return compile(source, "<diagram>", mode)


def _step_limiter(limit: int) -> Callable[[FrameType, str, Any], Any]:
    steps = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal steps
        steps += 1
        if steps > limit:
            raise SandboxViolation("ekspresi melebihi batas langkah evaluasi")
        return trace

    return trace


def run(code: CodeType, namespace: dict[str, Any], mode: str, max_steps: int) -> Any:
    """Evaluate or execute compiled code with safe builtins, counting steps against `max_steps`."""
    namespace["__builtins__"] = SAFE_BUILTINS
    previous = sys.gettrace()
    sys.settrace(_step_limiter(max_steps))
    try:
        if mode == "eval":
            return eval(code, namespace)  # noqa: S307 - checked by compile_checked, safe builtins
        exec(code, namespace)  # noqa: S102
        return None
    finally:
        sys.settrace(previous)


# Only these settings are visible to diagrams: never secrets, keys or database URLs.
DIAGRAM_SETTING_PREFIXES = ("SLA_",)
DIAGRAM_SETTINGS = frozenset(
    {"OFFICIAL_EMAIL_DOMAIN", "CERT_VALIDITY_DAYS", "EXPIRY_REMINDER_DAYS", "ACTIVATION_LINK_DAYS"}
)


def diagram_may_read(name: str) -> bool:
    """Tell whether a setting is visible to diagrams (as a default of `setting(name)`)."""
    key = str(name).upper()
    return key in DIAGRAM_SETTINGS or key.startswith(DIAGRAM_SETTING_PREFIXES)


def setting_value(name: str, settings: Mapping[str, Any], properties: Mapping[str, Any] | None = None) -> Any:
    """The value of `setting(name)`: the running deployment's diagram property, else the settings default.

    A property overriding a numeric setting is converted to the default's type; a property with no setting
    behind it (a diagram's own value) is returned as written. Raises SandboxViolation for an unknown name.
    """
    key = str(name).upper()
    default = settings.get(key) if diagram_may_read(name) else None
    for candidate in (str(name), str(name).lower()):
        if properties and candidate in properties:
            return like(properties[candidate], default)
    if default is None:
        raise SandboxViolation(f"pengaturan '{name}' tidak dikenal atau tidak boleh dibaca diagram")
    return default


def like(value: Any, default: Any) -> Any:
    """Convert a property (text in the diagram) to the type of the setting it overrides (int, float)."""
    if isinstance(default, bool) or not isinstance(default, (int, float)) or not isinstance(value, str):
        return value
    try:
        return type(default)(value.strip())
    except ValueError:
        return value


def helper_functions(settings: Mapping[str, Any], properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whitelist of helpers diagrams may call; `setting()` reads `properties` first (see setting_value)."""

    def setting(name: str) -> Any:
        return setting_value(name, settings, properties)

    def today() -> str:
        return date.today().isoformat()

    def now() -> str:
        return datetime.now(UTC).isoformat()

    return {"setting": setting, "today": today, "now": now}
