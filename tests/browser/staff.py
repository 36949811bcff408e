"""What the browser tests of the staff pages share: logging in, the two sizes they are tried at,
and the check of a page (axe-core, nothing wider than a phone, a screenshot of each size)."""

from tests.browser.axe import assert_accessible

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}

# The first elements that stick out on the right; a table may scroll inside its own wrapper.
TOO_WIDE = """() => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .filter(e => !e.closest(".table-responsive") || e.classList.contains("table-responsive"))
    .slice(0, 5)
    .map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)"""


def log_in(page, live_server, username, password="password"):
    """The staff login page, as a person fills it in."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def check_page(page, folder, name):
    """axe at both sizes, nothing wider than the phone, a screenshot of each."""
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.wait_for_timeout(100)
        assert_accessible(page, where=f"{name} at {size}")
        if size == "phone":
            wide = page.evaluate(TOO_WIDE)
            assert wide == [], f"{name} sticks out on a phone: {wide}"
        page.screenshot(path=str(folder / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["desktop"])
