import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static" / "kiosk"
NOT_THE_APP = {"sw.js", "paired.js"}  # the service worker itself, and the pairing page's script


def test_the_service_worker_cache_and_the_app_carry_the_same_version():
    # Tablets keep the cached app until the service worker's cache version changes: both are
    # bumped together whenever a kiosk module, kiosk.css or app.html change.
    app = re.search(r'const VERSION = "([^"]+)"', (STATIC / "main.js").read_text()).group(1)
    cache = re.search(r'const CACHE_VERSION = "([^"]+)"', (STATIC / "sw.js").read_text()).group(1)

    assert app == cache


def imported_modules(entry):
    """Every module main.js loads, following its static imports (the kiosk has no other kind)."""
    seen, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = (STATIC / name).read_text(encoding="utf-8")
        assert "import(" not in source, f"{name}: a dynamic import would escape the service worker's list"
        todo += re.findall(r'^import\s[^;]*?from\s+"\./([\w.-]+\.js)";', source, re.M | re.S)
    return seen


def test_the_service_worker_keeps_every_module_the_page_loads_and_the_page_loads_every_module():
    # Offline, the page starts from the service worker's cache: a module missing from its list
    # would fail to load and leave the kiosk blank.
    sw = (STATIC / "sw.js").read_text(encoding="utf-8")
    shell = re.findall(r'"([\w.-]+\.(?:js|css))"', re.search(r"const SHELL = \[(.*?)\];", sw, re.S).group(1))
    page = (ROOT / "templates" / "kiosk" / "app.html").read_text(encoding="utf-8")
    entry = re.search(r"""<script type="module" src="\{% static 'kiosk/([\w.]+)' %\}"></script>""", page).group(1)
    modules = imported_modules(entry)

    assert entry == "main.js"
    assert "{% static 'kiosk/kiosk.css' %}" in page
    assert sorted(shell) == sorted(modules | {"kiosk.css"})
    assert {p.name for p in STATIC.glob("*.js")} - NOT_THE_APP == modules  # no module left unused


def test_no_kiosk_module_is_over_about_600_lines():
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in STATIC.glob("*.js")}

    assert {name: n for name, n in lengths.items() if n > 600} == {}
