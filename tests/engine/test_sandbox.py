"""The diagram sandbox: what expressions may do, and every known way out being refused with a message."""

from __future__ import annotations

import builtins
import sys
import time
from typing import Any

import pytest

from engine import sandbox

SETTINGS = {"OFFICIAL_EMAIL_DOMAIN": "pekalongankota.go.id"}


def evaluate(source: str, data: dict[str, Any] | None = None, max_steps: int = 10_000) -> Any:
    """Check, compile and evaluate an expression the way the runtime does."""
    namespace = {**sandbox.helper_functions(SETTINGS), **(data or {})}
    return sandbox.run(sandbox.compile_checked(source, "eval"), namespace, "eval", max_steps)


def execute(source: str, data: dict[str, Any] | None = None, max_steps: int = 10_000) -> dict[str, Any]:
    """Check, compile and execute a script; return its namespace."""
    namespace = {**sandbox.helper_functions(SETTINGS), **(data or {})}
    sandbox.run(sandbox.compile_checked(source, "exec"), namespace, "exec", max_steps)
    return namespace


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ('verification["decision"] == "approve"', {"verification": {"decision": "approve"}}, True),
        ("form.get('nip', '') == ''", {"form": {}}, True),
        ("len(items) >= 2 and items[0] < items[1]", {"items": [1, 2]}, True),
        ("checks['errors'] > 0 or checks.get('warnings', 0) > 3", {"checks": {"errors": 0}}, False),
        ("email.lower().endswith('@' + setting('official_email_domain'))", {"email": "A@PekalonganKota.go.id"}, True),
        ("sum(x for x in range(100))", {}, 4950),
        ("[d.get('id') for d in docs if d.get('kind') == 'ktp']", {"docs": [{"id": 1, "kind": "ktp"}, {"id": 2}]}, [1]),
    ],
)
def test_plain_data_expressions_evaluate(source: str, data: dict[str, Any], expected: Any) -> None:
    assert sandbox.problems(source) == []
    assert evaluate(source, data) == expected


def test_setting_helper_reads_settings_case_insensitively_and_refuses_unknown_ones() -> None:
    assert evaluate("setting('official_email_domain')") == "pekalongankota.go.id"
    with pytest.raises(sandbox.SandboxViolation, match="pengaturan 'no_such_setting' tidak dikenal"):
        evaluate("setting('no_such_setting')")


@pytest.mark.parametrize("name", ["secret_key", "kek_keys", "database_url", "smtp_host"])
def test_setting_helper_never_reveals_secrets(name: str) -> None:
    settings = {**SETTINGS, name.upper(): "rahasia"}
    setting = sandbox.helper_functions(settings)["setting"]
    with pytest.raises(sandbox.SandboxViolation, match=f"pengaturan '{name}'"):
        setting(name)


def test_scripts_assign_variables_and_loop_over_bounded_ranges() -> None:
    namespace = execute("total = 0\nfor i in range(10):\n    total += i\nlabel = 'ok' if total == 45 else 'bad'")
    assert namespace["total"] == 45 and namespace["label"] == "ok"


@pytest.mark.parametrize(
    ("source", "mode", "message"),
    [
        ("import os", "exec", "import tidak diizinkan"),
        ("from os import system", "exec", "import tidak diizinkan"),
        ("__import__('os').system('id')", "eval", "nama '__import__' tidak diizinkan"),
        ("().__class__.__base__.__subclasses__()", "eval", "atribut '.__class__' tidak diizinkan"),
        ("().__class__.__base__.__subclasses__()", "eval", "atribut '.__subclasses__' tidak diizinkan"),
        ('"{0.__class__}".format(x)', "eval", "atribut '.format' tidak diizinkan"),
        ("lambda: 1", "eval", "lambda tidak diizinkan"),
        ("while True:\n    pass", "exec", "perulangan while tidak diizinkan"),
        ("def f():\n    return 1", "exec", "definisi fungsi tidak diizinkan"),
        ("class C:\n    pass", "exec", "definisi kelas tidak diizinkan"),
        ("9 ** 9 ** 9", "eval", "operator ** tidak diizinkan"),
        ("range(10 ** 9)", "eval", "operator ** tidak diizinkan"),
        ("__builtins__", "eval", "nama '__builtins__' tidak diizinkan"),
        ("_private", "eval", "nama '_private' tidak diizinkan"),
        ("x.__dict__", "eval", "atribut '.__dict__' tidak diizinkan"),
        ("setting.__globals__", "eval", "atribut '.__globals__' tidak diizinkan"),
        ("try:\n    x = 1\nexcept Exception:\n    pass", "exec", "try tidak diizinkan"),
        ("(y := 1)", "eval", "operator := tidak diizinkan"),
        ("'a' * 2 + '" + "x" * 10_001 + "'", "eval", "konstanta terlalu panjang"),
        ("1 +", "eval", "sintaks tidak valid"),
    ],
)
def test_escape_is_refused_before_it_runs(source: str, mode: str, message: str) -> None:
    found = sandbox.problems(source, mode)
    assert any(message in problem for problem in found), found
    with pytest.raises(sandbox.SandboxViolation, match="ditolak"):
        sandbox.compile_checked(source, mode)


@pytest.mark.parametrize("name", ["getattr", "open", "eval", "exec", "compile", "globals", "vars", "type", "object", "print"])
def test_dangerous_builtins_are_absent_at_run_time(name: str) -> None:
    with pytest.raises(NameError, match=f"name '{name}' is not defined"):
        evaluate(f"{name}('x')")


def test_range_over_the_limit_is_refused_at_run_time() -> None:
    assert sandbox.problems("range(1_000_000_000)") == []
    with pytest.raises(sandbox.SandboxViolation, match=f"range lebih dari {sandbox.MAX_RANGE} langkah"):
        evaluate("list(range(1_000_000_000))")
    assert len(evaluate(f"range({sandbox.MAX_RANGE})")) == sandbox.MAX_RANGE


def test_long_generator_is_stopped_by_the_step_limit() -> None:
    source = "sum(i for i in range(9999) for j in range(9999))"
    assert sandbox.problems(source) == []
    with pytest.raises(sandbox.SandboxViolation, match="batas langkah"):
        sandbox.run(sandbox.compile_checked(source), {}, "eval", max_steps=1000)


def test_long_script_loop_is_stopped_by_the_step_limit() -> None:
    source = "n = 0\nfor i in range(9999):\n    for j in range(9999):\n        n += 1"
    with pytest.raises(sandbox.SandboxViolation, match="batas langkah"):
        execute(source, max_steps=1000)


def test_step_limit_does_not_leak_the_trace_function() -> None:
    before = sys.gettrace()
    with pytest.raises(sandbox.SandboxViolation):
        sandbox.run(sandbox.compile_checked("sum(i for i in range(9999))"), {}, "eval", max_steps=10)
    assert sys.gettrace() is before


def test_run_replaces_builtins_even_when_the_caller_passes_real_ones() -> None:
    namespace: dict[str, Any] = {"__builtins__": builtins}
    with pytest.raises(NameError):
        sandbox.run(sandbox.compile_checked("open('/etc/passwd')"), namespace, "eval", 1000)


def test_match_class_pattern_cannot_read_dunder_attributes() -> None:
    source = 'match "":\n    case str(__class__=leaked):\n        pass'
    with pytest.raises(sandbox.SandboxViolation):
        execute(source)


def test_repetition_bomb_is_refused_before_it_runs() -> None:
    # Only checked, never run: running it would try to allocate 10 GB.
    assert sandbox.problems("'x' * 10_000_000_000") != []


# ---------------------------------------------------------------- memory and time bounds
BIG_TEXT = "y" * 10_000


@pytest.mark.parametrize(
    ("source", "data", "message"),
    [
        # A 300 MB string out of data the diagram reads.
        ("x * 9999 * 30", {"x": BIG_TEXT}, "nilai terlalu besar"),
        ("len(x * n) > 0", {"x": BIG_TEXT, "n": 30_000}, "nilai terlalu besar"),
        ("[0] * n", {"n": 300_000_000}, "nilai terlalu besar"),
        ("[x] * 9999", {"x": BIG_TEXT}, "nilai terlalu besar"),  # counted deep
        ("n * n * n", {"n": 10**20_000}, "bilangan terlalu besar"),
        ("n << m", {"n": 3, "m": 10**9}, "bilangan terlalu besar"),
        ("(x + x) * 60", {"x": BIG_TEXT}, "nilai terlalu besar"),
        ("x.replace('y', x)", {"x": BIG_TEXT}, "nilai terlalu besar"),
        ("x.join([x] * 200)", {"x": BIG_TEXT}, "nilai terlalu besar"),
        ("sum([[0] * 9000] * 9000, [])", {}, "nilai terlalu besar"),
        ("str([x] * 99 + [x] * 99)", {"x": BIG_TEXT}, "nilai terlalu besar"),
        ("f'{l}'", {"l": [BIG_TEXT] * 200}, "nilai terlalu besar"),
        ("'%s' % (l,)", {"l": [BIG_TEXT] * 200}, "nilai terlalu besar"),
        # Many values each under the bound: the run's total is bounded too.
        ("[x * 99 for i in range(9999)]", {"x": BIG_TEXT}, "terlalu banyak data"),
    ],
)
def test_values_above_the_bounds_are_refused_before_they_are_built(
    source: str, data: dict[str, Any], message: str
) -> None:
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxViolation, match=message):
        evaluate(source, data, max_steps=100_000)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    "source",
    [
        "s = x\nfor i in range(40):\n    s = s + s",
        "s = x\nfor i in range(40):\n    s += s",
        "s = [x]\nfor i in range(40):\n    s *= 2",
        "d = {'k': x}\nfor i in range(40):\n    d['k'] = d['k'] + d['k']",
    ],
)
def test_doubling_in_a_script_loop_is_stopped(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxViolation, match="terlalu"):
        execute(source, {"x": BIG_TEXT}, max_steps=100_000)
    assert time.monotonic() - started < 0.5


def test_the_wall_clock_budget_stops_a_slow_run_within_the_steps() -> None:
    source = "t = 0\nfor a in range(9999):\n    for b in range(9999):\n        t = t + 1"
    namespace = sandbox.helper_functions(SETTINGS)
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxViolation, match="batas waktu"):
        sandbox.run(sandbox.compile_checked(source, "exec"), namespace, "exec", 10**9, max_seconds=0.2)
    assert time.monotonic() - started < 0.5
    assert sys.gettrace() is None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("'x' * 9999 * 9999", "nilai terlalu besar"),
        ("[0] * 9999 * 999", "nilai terlalu besar"),
        ("f'{x:>999999999}'", "lebar format"),
        ("f'{x:>{n}}'", "lebar dari variabel"),
        ("'%999999999d' % x", "lebar format"),
        ("'%*d' % (n, x)", "lebar format"),
        ("[*x, *x]", "unpacking"),
        ("{**d, **d}", "unpacking"),
    ],
)
def test_what_is_visible_in_the_text_is_refused_at_deploy(source: str, message: str) -> None:
    assert any(message in problem for problem in sandbox.problems(source)), sandbox.problems(source)


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ("'-'.join(['a', 'b'])", {}, "a-b"),
        ("x.replace('a', 'bb')", {"x": "aa"}, "bbbb"),
        ("f'{x:>5}|{n:03d}'", {"x": "a", "n": 7}, "    a|007"),
        ("'%s-%05d' % ('a', 42)", {}, "a-00042"),
        ("n * m + (1 << 10)", {"n": 10**50, "m": 10**50}, 10**100 + 1024),
        ("sum([1, 2, 3]) + sum([[1], [2]], [])[1]", {}, 8),
        ("str(12) + str()", {}, "12"),
        ("(x * 3)[:4] + 'z' * 2", {"x": "ab"}, "ababzz"),
    ],
)
def test_ordinary_expressions_still_evaluate(source: str, data: dict[str, Any], expected: Any) -> None:
    assert sandbox.problems(source) == []
    assert evaluate(source, data) == expected


def test_augmented_assignment_keeps_its_meaning() -> None:
    namespace = execute("t = 1\nt += 2\nt *= 3\nd = {'k': 'a'}\nd['k'] += 'b'\nl = [1]\nl += [2]")
    assert namespace["t"] == 9 and namespace["d"] == {"k": "ab"} and namespace["l"] == [1, 2]
