from pathlib import Path

PO = Path(__file__).resolve().parents[2] / "locale" / "vi" / "LC_MESSAGES" / "django.po"


def _entries(text):
    """(msgid, msgstr) pairs, with continuation lines joined."""
    import ast

    entries, current, field = [], {}, None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if current:
                entries.append(current)
            current, field = {}, None
            continue
        if line.startswith("#"):
            if "fuzzy" in line:
                current["fuzzy"] = True
            continue
        if line.startswith('"'):
            current[field] += ast.literal_eval(line)
            continue
        field, _, value = line.partition(" ")
        current[field] = ast.literal_eval(value)
    return entries


def test_every_string_has_a_vietnamese_translation():
    entries = [e for e in _entries(PO.read_text(encoding="utf-8")) if e.get("msgid")]

    untranslated = [e["msgid"] for e in entries if not (e.get("msgstr") or e.get("msgstr[0]")) or e.get("fuzzy")]

    assert len(entries) > 50
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_source(tmp_path):
    import shutil
    import subprocess

    import pytest

    if not shutil.which("msgfmt"):
        pytest.skip("GNU gettext's msgfmt is not installed")
    fresh = tmp_path / "django.mo"

    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(PO)], check=True)

    assert fresh.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run manage.py compilemessages"


def test_how_long_ago_reads_in_vietnamese_although_djangos_own_catalogue_lags():
    import datetime

    from django.utils import timezone, translation
    from django.utils.timesince import timesince

    with translation.override("vi"):
        ago = timesince(timezone.now() - datetime.timedelta(hours=2, minutes=5))

    assert ago == "2\xa0giờ, 5\xa0phút"
