"""Portuguese is the source language; English must be complete and compiled."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.utils import translation

from tests.simulator import ROOT

PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"


def _entries(po: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry; a small parser for gettext's own output."""
    entries: list[tuple[str, str, bool]] = []
    msgid = msgstr = None
    fuzzy = False
    field = ""
    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("msgid "):
            msgid, field = line[7:-1], "id"
        elif line.startswith(("msgstr ", "msgstr[0] ")):
            msgstr, field = line.split(" ", 1)[1][1:-1], "str"
        elif line.startswith("msgstr["):
            msgstr = (msgstr or "") if line.split(" ", 1)[1][1:-1] else ""
        elif line.startswith('"') and field == "id":
            msgid = (msgid or "") + line[1:-1]
        elif line.startswith('"') and field == "str":
            msgstr = (msgstr or "") + line[1:-1]
        elif not line.strip() and msgid is not None:
            entries.append((msgid, msgstr or "", fuzzy))
            msgid = msgstr = None
            fuzzy, field = False, ""
    return [e for e in entries if e[0]]  # the header has an empty msgid


def test_every_string_in_the_source_is_translated_to_english(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "staticfiles", "node_modules", "__pycache__", "*.sqlite3"
        ),
    )
    (copy / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run(["bash", "scripts/messages.sh"], cwd=copy, check=True, capture_output=True)
    entries = _entries(copy / PO.relative_to(ROOT))
    assert len(entries) > 50
    untranslated = [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert untranslated == []
    committed = {msgid for msgid, _, _ in _entries(PO)}
    assert {msgid for msgid, _, _ in entries} == committed, "run scripts/messages.sh"
    assert (copy / PO.with_suffix(".mo").relative_to(ROOT)).read_bytes() == (
        PO.with_suffix(".mo").read_bytes()
    ), "the committed .mo is stale: run scripts/messages.sh"


def test_portuguese_is_the_default_and_english_is_loaded() -> None:
    with translation.override("pt-br"):
        assert translation.gettext("Gravações") == "Gravações"
        assert translation.gettext("Informe uma data válida.") == "Informe uma data válida."
    with translation.override("en"):
        assert translation.gettext("Gravações") == "Recordings"
