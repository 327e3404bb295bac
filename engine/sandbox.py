"""The sandbox for diagram expressions and scripts: an AST whitelist, safe builtins, a step limit, a
wall-clock budget, and a bound on the size of the values an expression may create.

Python's own operators run in C and cannot be interrupted by the step counter: `"x" * 10_000 * 30_000`
or multiplying huge integers would block the worker for seconds. So compile_checked rewrites every
operator that can grow a value (`*`, `+`, `<<`, `%` on text, `x op= y`), the growing string methods
(`join`, `replace`), f-string values and `sum()` into calls of checked helpers that refuse, before
computing it, a value larger than MAX_VALUE_SIZE (characters or elements, counted deep) or an integer
longer than MAX_INT_BITS.
"""

from __future__ import annotations

import ast
import operator
import re
import sys
import threading
import time
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
    # `[*a, *a]` and `{**d}` build values no checked operator sees (doubling a list in a loop).
    ast.Starred: "operator * (unpacking) tidak diizinkan",
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
# The largest value an expression may create: characters of text, elements of a container (counted deep,
# so a list holding one long text many times counts each time), and bits of an integer.
MAX_VALUE_SIZE = 1_000_000
MAX_INT_BITS = 100_000
# All values the checked operations of one run create, together (a comprehension of many large texts).
MAX_TOTAL_SIZE = 20_000_000
# The wall-clock budget of one evaluation or script run (the step limit counts Python steps, not time).
MAX_SECONDS = 0.5
# A width or precision in a format (`f"{x:>N}"`, `"%Nd" % x`) above this is refused.
MAX_FORMAT_WIDTH = 1_000


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
    "sum": lambda items, start=0: bounded_sum(items, start),
    "sorted": sorted,
    "any": any,
    "all": all,
    "str": lambda *args: bounded_str(*args),
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
        elif isinstance(node, ast.BinOp) and _too_large_statically(node):
            found.append("ekspresi membuat nilai terlalu besar")
        elif isinstance(node, ast.Dict) and any(key is None for key in node.keys):
            found.append("operator ** (unpacking) tidak diizinkan")
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            found.extend(_format_spec_problems(node.format_spec))
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and _percent_format_too_wide(node.left.value)
        ):
            found.append(f"lebar format di atas {MAX_FORMAT_WIDTH} tidak diizinkan")
    return sorted(set(found))


def _static_size(node: ast.AST) -> tuple[str, int] | None:
    """('seq', length) or ('int', magnitude) of an expression made only of literals and * + <<, else None."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (str, bytes)):
            return ("seq", len(node.value))
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            return ("int", abs(node.value))
        return None
    if isinstance(node, (ast.List, ast.Tuple)):
        return ("seq", len(node.elts))
    if not isinstance(node, ast.BinOp):
        return None
    left, right = _static_size(node.left), _static_size(node.right)
    if left is None or right is None:
        return None
    kinds = (left[0], right[0])
    if isinstance(node.op, ast.Mult):
        if kinds == ("int", "int"):
            # Keep the magnitude bounded: only its bit length matters.
            bits = left[1].bit_length() + right[1].bit_length()
            return ("int", 1 << min(bits, MAX_INT_BITS + 1))
        return (
            "seq",
            left[1] * right[1] if left[1] <= MAX_VALUE_SIZE and right[1] <= MAX_VALUE_SIZE else MAX_VALUE_SIZE + 1,
        )
    if isinstance(node.op, ast.Add) and kinds == ("seq", "seq"):
        return ("seq", left[1] + right[1])
    if isinstance(node.op, ast.LShift) and kinds == ("int", "int"):
        return ("int", 1 << min(left[1].bit_length() + right[1], MAX_INT_BITS + 1))
    return None


def _too_large_statically(node: ast.BinOp) -> bool:
    """Tell whether literals alone make a value above the bounds (`"x" * 9999 * 9999`, `1 << 10**6`)."""
    size = _static_size(node)
    if size is None:
        return False
    kind, amount = size
    return amount > MAX_VALUE_SIZE if kind == "seq" else amount.bit_length() > MAX_INT_BITS


def _format_spec_problems(spec: ast.expr) -> list[str]:
    """A format spec must be written out (no `{width}` inside) and its numbers small."""
    parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
    if not all(isinstance(part, ast.Constant) for part in parts):
        return ["format dengan lebar dari variabel tidak diizinkan"]
    text = "".join(str(part.value) for part in parts if isinstance(part, ast.Constant))
    if any(int(number) > MAX_FORMAT_WIDTH for number in re.findall(r"\d+", text)):
        return [f"lebar format di atas {MAX_FORMAT_WIDTH} tidak diizinkan"]
    return []


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _percent_format_too_wide(template: str) -> bool:
    """Tell whether a `%` format names a width or precision above MAX_FORMAT_WIDTH or one taken from data (*)."""
    for width, precision in _PERCENT_SPEC.findall(template):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                return True
    return False


def _large_constant(node: ast.BinOp) -> bool:
    """Tell whether a multiplication has an int operand above MAX_RANGE (a repetition or memory bomb)."""
    return any(
        isinstance(side, ast.Constant) and isinstance(side.value, int) and abs(side.value) > MAX_RANGE
        for side in (node.left, node.right)
    )


def compile_checked(source: str, mode: str = "eval") -> CodeType:
    """Compile `source` after the whitelist check, with its growing operations checked, or raise SandboxViolation."""
    found = problems(source, mode)
    if found:
        raise SandboxViolation(f"Ekspresi '{source}' ditolak: " + "; ".join(found))
    tree = _Bounded().visit(ast.parse(source, mode=mode))
    return compile(ast.fix_missing_locations(tree), "<diagram>", mode)


# ---------------------------------------------------------------- bounded values

TOO_LARGE = f"ekspresi membuat nilai terlalu besar (batas {MAX_VALUE_SIZE:,} karakter/elemen)".replace(",", ".")
INT_TOO_LARGE = f"ekspresi membuat bilangan terlalu besar (batas {MAX_INT_BITS:,} bit)".replace(",", ".")


def value_size(value: Any, limit: int = MAX_VALUE_SIZE) -> int:
    """The size of a value: characters of text, 1 + the deep size of each element of a container.

    Counting stops a little above `limit`, so the cost of a call is bounded whatever the value.
    """
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, bool) or not isinstance(value, (int, list, tuple, set, frozenset, dict)):
        return 1
    if isinstance(value, int):
        return value.bit_length() // 8 + 1
    total = 0
    items = value.items() if isinstance(value, dict) else value
    for item in items:
        total += 1 + value_size(item, limit - total)
        if total > limit:
            return total
    return total


class _Budget(threading.local):
    """What the checked operations of the current run created so far (per thread, reset by run())."""

    created = 0


_budget = _Budget()


def _refuse_if_large(size: int) -> None:
    if size > MAX_VALUE_SIZE:
        raise SandboxViolation(TOO_LARGE)
    _budget.created += size
    if _budget.created > MAX_TOTAL_SIZE:
        raise SandboxViolation("ekspresi membuat terlalu banyak data")


def _repeat_size(sequence: Any, times: Any) -> int:
    if not isinstance(times, int) or times <= 0:
        return 0
    # Quick refusal on the length alone before the deep count.
    if len(sequence) * times > MAX_VALUE_SIZE:
        return MAX_VALUE_SIZE + 1
    return value_size(sequence) * times


_SEQUENCES = (str, bytes, bytearray, list, tuple)


def checked_binop(symbol: str, left: Any, right: Any) -> Any:
    """`left symbol right`, refused before it is computed when the result would be too large."""
    if symbol == "*":
        if isinstance(left, _SEQUENCES):
            _refuse_if_large(_repeat_size(left, right))
        elif isinstance(right, _SEQUENCES):
            _refuse_if_large(_repeat_size(right, left))
        elif isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise SandboxViolation(INT_TOO_LARGE)
    elif symbol == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES) and type(left) is type(right):
            _refuse_if_large(len(left) + len(right))
    elif symbol == "<<":
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right > MAX_INT_BITS:
            raise SandboxViolation(INT_TOO_LARGE)
    elif symbol == "%" and isinstance(left, str):
        if _percent_format_too_wide(left):
            raise SandboxViolation(f"lebar format di atas {MAX_FORMAT_WIDTH} tidak diizinkan")
        _refuse_if_large(len(left) + value_size(right))
    return _OPERATORS[symbol](left, right)


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "+": operator.add,
    "<<": operator.lshift,
    "%": operator.mod,
}
_CHECKED_OPS: dict[type[ast.operator], str] = {ast.Mult: "*", ast.Add: "+", ast.LShift: "<<", ast.Mod: "%"}


def checked_method(target: Any, name: str, *args: Any) -> Any:
    """`target.name(*args)` for the string methods that can grow a value (join, replace), bounded."""
    if name == "join" and isinstance(target, (str, bytes)) and len(args) == 1:
        items = list(args[0])
        size = len(target) * max(len(items) - 1, 0)
        for item in items:
            size += value_size(item)
            _refuse_if_large(size)
        return target.join(items)
    if name == "replace" and isinstance(target, (str, bytes)) and len(args) >= 2:
        old, new = args[0], args[1]
        if type(old) is type(target) and type(new) is type(target):
            count: int = target.count(old) if old else len(target) + 1  # type: ignore[arg-type]  # same type
            _refuse_if_large(len(target) + count * max(len(new) - len(old), 0))
    return getattr(target, name)(*args)


def checked_format(value: Any) -> Any:
    """A value shown in an f-string, refused when its text would be too large."""
    _refuse_if_large(value_size(value))
    return value


def bounded_str(*args: Any) -> str:
    """str(), refusing a container whose text would be too large."""
    if args:
        _refuse_if_large(value_size(args[0]))
    return str(*args)


def bounded_sum(items: Any, start: Any = 0) -> Any:
    """sum() with every addition checked like `+`."""
    total = start
    for item in items:
        total = checked_binop("+", total, item)
    return total


_HELPERS: dict[str, Any] = {
    "__sx_binop__": checked_binop,
    "__sx_method__": checked_method,
    "__sx_format__": checked_format,
}
# The helpers' own frames are not traced line by line (they count one step each).
_UNTRACED = frozenset(
    f.__code__ for f in (checked_binop, checked_method, checked_format, bounded_str, bounded_sum, value_size)
)


class _Bounded(ast.NodeTransformer):
    """Rewrite growing operations into calls of the checked helpers (names users cannot write: '_' is refused)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        symbol = _CHECKED_OPS.get(type(node.op))
        if symbol is None:
            return node
        return ast.copy_location(_call("__sx_binop__", ast.Constant(symbol), node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        symbol = _CHECKED_OPS.get(type(node.op))
        if symbol is None:
            return node
        current = _as_load(node.target)
        value = _call("__sx_binop__", ast.Constant(symbol), current, node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("join", "replace") and not node.keywords:
            return ast.copy_location(_call("__sx_method__", func.value, ast.Constant(func.attr), *node.args), node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        node.value = _call("__sx_format__", node.value)
        return node


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _as_load(target: ast.expr) -> ast.expr:
    """The target of `x op= y` read as a value (x is evaluated twice; diagram targets have no side effects)."""
    copy = ast.parse(ast.unparse(target), mode="eval").body
    return copy


def _limiter(max_steps: int, max_seconds: float) -> Callable[[FrameType, str, Any], Any]:
    steps = 0
    deadline = time.monotonic() + max_seconds

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal steps
        steps += 1
        if steps > max_steps:
            raise SandboxViolation("ekspresi melebihi batas langkah evaluasi")
        if time.monotonic() > deadline:
            raise SandboxViolation("ekspresi melebihi batas waktu evaluasi")
        if event == "call" and frame.f_code in _UNTRACED:
            return None
        return trace

    return trace


def run(code: CodeType, namespace: dict[str, Any], mode: str, max_steps: int, max_seconds: float = MAX_SECONDS) -> Any:
    """Evaluate or execute compiled code with safe builtins, counting steps and time against the limits."""
    namespace["__builtins__"] = SAFE_BUILTINS
    namespace.update(_HELPERS)
    _budget.created = 0
    previous = sys.gettrace()
    sys.settrace(_limiter(max_steps, max_seconds))
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
