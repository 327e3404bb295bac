"""axe-core (from the npm registry, pinned in frontend/package.json) inside the Playwright tests.

`check(page, name)` injects axe into the page (once per document) and fails on any violation of the
WCAG 2.0 A, 2.0 AA and 2.1 AA rule sets, naming the rule, its help text and the offending elements.
axe is read from frontend/node_modules/axe-core/axe.min.js, installed by scripts/build-frontend.sh (npm ci).
The pages are checked under the tests' CSP bypass (the contexts of tests/browser/conftest.py): axe is
injected as a script, which the app's policy (script-src 'self') would refuse.
"""
from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
AXE_JS = REPO_ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ("wcag2a", "wcag2aa", "wcag21aa")


@cache
def source() -> str:
    """axe.min.js, installing the frontend packages first when it is missing (a fresh machine)."""
    if not AXE_JS.is_file():
        if shutil.which("npm") is None:
            pytest.fail("npm is required to install axe-core (scripts/build-frontend.sh)")
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "build-frontend.sh")], check=True, timeout=600)
    assert AXE_JS.is_file(), f"scripts/build-frontend.sh did not install {AXE_JS}"
    return AXE_JS.read_text(encoding="utf-8")


RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').replace(/\\s+/g, ' '))
  }));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    """The WCAG 2.1 AA violations axe finds on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source())
    return list(page.evaluate(RUN, list(TAGS)))


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {node}" for node in v["nodes"])
    return "\n".join(lines)


def check(page: Any, name: str, checked: list[str] | None = None) -> None:
    """Fail when axe finds a WCAG 2.0 A/AA or 2.1 AA violation on the page; record `name` in `checked`."""
    found = violations(page)
    assert not found, f"axe: {name} ({page.url}):\n{describe(found)}"
    if checked is not None:
        checked.append(name)
