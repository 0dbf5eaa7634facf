"""docs/email.md is true: its settings table is complete and its override example works."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from sessionary.config import Settings
from sessionary.mail.message import html_of, text_of

pytestmark = pytest.mark.no_db

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "email.md"
_FILE_BLOCK = re.compile(r"<!-- file: (?P<name>[\w./]+) -->\n```\w+\n(?P<code>.*?)```", re.S)
MAIL_SETTINGS = {
    "mail_backend",
    "smtp_url",
    "smtp_timeout",
    "mail_from",
    "public_url",
    "password_reset_ttl",
    "password_reset_path",
    "email_verification_ttl",
    "email_verification_path",
    "require_verified_email",
    "notify_password_changed",
    "notify_email_changed",
    "notify_api_key_created",
    "notify_new_device",
}


def guide_files() -> dict[str, str]:
    return {match["name"]: match["code"] for match in _FILE_BLOCK.finditer(GUIDE.read_text())}


class TestEmailGuide:
    def test_the_table_names_every_mail_setting(self) -> None:
        names = set(re.findall(r"^\| `([A-Z_]+)` \|", GUIDE.read_text(), re.M))
        fields = {name for name in Settings.model_fields if name in MAIL_SETTINGS}

        assert names == {name.upper() for name in fields | {"mail_templates"}}

    def test_an_apps_layout_and_subject_replace_only_those_files(self, tmp_path: Path) -> None:
        for name, code in guide_files().items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(code)

        runtime = runpy.run_path(str(tmp_path / "myproject.py"))["runtime"]
        message = runtime.mail.compose(runtime.settings, "test", to="ops@example.com")

        assert message["Subject"] == "Acme: your mail settings work"
        assert "This is a test message from Sessionary" in text_of(message)
        assert "<h1>Acme</h1>" in html_of(message)
        assert "This is a test message from Sessionary" in html_of(message)
