"""axe-core in the browser tests: injected into a page, run on what it shows, and the
critical and serious violations reported in a readable form (rule, element, why).

axe-core is vendored in `vendor/axe-core/` (see its README); it is evaluated through
the DevTools protocol, which the page's Content-Security-Policy does not govern, so the
client's CSP stays as strict in the tests as in production.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_VERSION = "4.14.1"
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 A and AA, plus Deque's best practices; `label-content-name-mismatch`
# (an accessible name that does not contain the visible text, WCAG 2.5.3) is experimental
# in axe, so it is switched on by name.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
EXTRA_RULES = ["label-content-name-mismatch"]
BLOCKING = ("critical", "serious")

_RUN = """async ([tags, extra]) => {
  const rules = Object.fromEntries(extra.map((id) => [id, { enabled: true }]));
  const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, rules,
                                           resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(' '), html: n.html.slice(0, 160),
      why: (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 300),
    })),
  }));
}"""


@cache
def _source() -> str:
    source = AXE_JS.read_text("utf-8")
    assert f"axe v{AXE_VERSION}" in source[:200], "vendored axe-core is not the pinned version"
    return source


def violations(page: Page) -> list[dict[str, Any]]:
    """The critical and serious violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())
    found: list[dict[str, Any]] = page.evaluate(_RUN, [TAGS, EXTRA_RULES])
    return [v for v in found if v["impact"] in BLOCKING]


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for v in found:
        lines.append(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:8]:
            lines.append(f"    {node['target']}  {node['html']}\n        {node['why']}")
    return "\n".join(lines)


def assert_accessible(page: Page, screen: str) -> None:
    found = violations(page)
    assert not found, f"{screen}: axe-core found\n{describe(found)}"
