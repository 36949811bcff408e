"""Django's template tags, variables and comments end on the line they start on: a ``{#`` comment or a
``{% tag`` broken over two lines is not an error but text, which the page then shows (the kiosk showed
half a comment above every screen). Every template is read by Django's own lexer here, and no text
between tags may hold the opening of one."""

from pathlib import Path

from django.conf import settings
from django.template.base import Lexer, TokenType

OPENINGS = ("{#", "{%", "{{")


def template_files():
    folders = [Path(folder) for engine in settings.TEMPLATES for folder in engine.get("DIRS", [])]
    root = Path(settings.BASE_DIR)
    folders += [path for path in root.glob("*/templates") if path.is_dir()]
    return sorted({path for folder in folders for path in folder.rglob("*") if path.is_file()
                   and path.suffix in {".html", ".txt", ".xml", ".js", ".svg", ".json"}})


def broken_openings(source):
    """(line, text) of each tag, variable or comment that Django read as text."""
    found = []
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.TEXT:
            for opening in OPENINGS:
                at = token.contents.find(opening)
                if at >= 0:
                    line = token.lineno + token.contents.count("\n", 0, at)
                    found.append((line, token.contents[at:].splitlines()[0]))
    return found


def test_the_lexer_check_finds_a_comment_broken_over_two_lines():
    assert broken_openings("<p>\n{# one\n two #}\n</p>") == [(2, "{# one")]
    assert broken_openings("{% if x\n %}") == [(1, "{% if x")]
    assert broken_openings("{# one line #}{% if x %}{{ y }}{% endif %}") == []


def test_no_template_shows_a_tag_or_comment_as_text():
    files = template_files()
    assert len(files) > 50  # the project's own templates were found
    broken = {str(path.relative_to(settings.BASE_DIR)): found
              for path in files if (found := broken_openings(path.read_text(encoding="utf-8")))}
    assert broken == {}


def test_staff_pages_take_their_looks_from_the_stylesheets_not_from_inline_style_blocks():
    """One place for the staff pages' rules (static/css/staff.css, and the score pages' own): a
    <style> block in a page is a copy waiting to drift (two pages had the same link colours)."""
    root = Path(settings.BASE_DIR) / "templates"
    inline = [str(path.relative_to(root)) for path in template_files()
              if path.is_relative_to(root) and not path.is_relative_to(root / "kiosk")
              and "<style" in path.read_text(encoding="utf-8")]
    assert inline == []
