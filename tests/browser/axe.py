"""axe-core (Deque's accessibility engine, bundled in axe-playwright-python) over a Playwright page.

    from tests.browser.axe import assert_accessible, axe_violations

    assert_accessible(page)                      # fails with a readable list of what axe found
    problems = axe_violations(page, impacts=ALL)  # the Violation tuples, to look at or print

By default only violations of impact serious or critical count (what the product promises); a
page can be held to more with ``impacts``. ``context`` limits the check to part of the page (a CSS
selector, or axe's {"include": ..., "exclude": ...}), ``disable`` leaves rules out by id, with a
reason in the caller's comment. The page's own scripts keep running: call it once the screen to
check is shown (and its transitions have finished).
"""

from typing import NamedTuple

SERIOUS = ("serious", "critical")
ALL = ("minor", "moderate", "serious", "critical")


class Violation(NamedTuple):
    rule: str  # axe's rule id: color-contrast, label, region, meta-refresh ...
    impact: str
    help: str  # one line, what the rule asks
    help_url: str
    targets: tuple  # a CSS selector for each element that breaks it
    details: tuple  # for each element, axe's explanation ("Element has insufficient color contrast of 3.2 ...")

    def __str__(self):
        lines = [f"{self.rule} ({self.impact}): {self.help} <{self.help_url}>"]
        lines += [f"    {target}: {detail}" if detail else f"    {target}"
                  for target, detail in zip(self.targets, self.details, strict=True)]
        return "\n".join(lines)


def _axe_script():
    from axe_playwright_python.base import AXE_SCRIPT  # axe.min.js, read when the module is imported

    return AXE_SCRIPT


def _detail(node):
    return node.get("failureSummary", "").replace("\n", " ").strip()


def _target(node):
    # A selector inside a frame or a shadow root is a list of selectors, outermost first.
    return " >>> ".join(part if isinstance(part, str) else " ".join(part) for part in node["target"])


def axe_violations(page, *, impacts=SERIOUS, context=None, disable=()) -> list[Violation]:
    """The violations axe finds on the page as it is now, of the given impacts, in axe's order."""
    options = {"resultTypes": ["violations"]}
    if disable:
        options["rules"] = {rule: {"enabled": False} for rule in disable}
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_script())  # through the DevTools protocol: the site's CSP does not apply
    results = page.evaluate("([context, options]) => axe.run(context || document, options)", [context, options])
    return [
        Violation(rule=v["id"], impact=v["impact"], help=v["help"], help_url=v["helpUrl"],
                  targets=tuple(_target(n) for n in v["nodes"]), details=tuple(_detail(n) for n in v["nodes"]))
        for v in results["violations"] if v["impact"] in impacts
    ]


def format_violations(violations, where="") -> str:
    head = f"axe-core found {len(violations)} violation(s)" + (f" on {where}" if where else "")
    return "\n".join([head + ":", *map(str, violations)])


def assert_accessible(page, *, impacts=SERIOUS, context=None, disable=(), where=""):
    """Fail, naming each rule, its impact, the elements and the help, when axe finds violations."""
    violations = axe_violations(page, impacts=impacts, context=context, disable=disable)
    assert not violations, format_violations(violations, where or page.url)
    return violations
