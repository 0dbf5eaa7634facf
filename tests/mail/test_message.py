"""Messages from templates: headers, both parts, escaping, overriding, and links."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from sessionary.config import Settings
from sessionary.mail.message import compose, html_of, link, text_of
from sessionary.mail.templates import MailTemplates, UnknownMailTemplate
from sessionary.testing import Clock

pytestmark = pytest.mark.no_db

SETTINGS = Settings(
    mail_from="Example <no-reply@app.example.com>", public_url="https://app.example.com/"
)


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


GREETING = {
    "greeting/subject.txt": "Hello\n  {{ name }}\n",
    "greeting/body.txt": "Hi {{ name }}, {{ link }}\n",
    "greeting/body.html": '<p>Hi {{ name }}, <a href="{{ link }}">here</a></p>\n',
}


class TestCompose:
    def test_the_test_message_has_every_header_and_both_parts(self, clock: Clock) -> None:
        clock.set(datetime(2031, 5, 7, 6, 30, tzinfo=UTC))

        message = compose(MailTemplates(), SETTINGS, "test", to="alice@example.com")

        assert message["From"] == "Example <no-reply@app.example.com>"
        assert message["To"] == "alice@example.com"
        assert message["Subject"] == "Sessionary test message"
        assert parsedate_to_datetime(message["Date"]) == datetime(2031, 5, 7, 6, 30, tzinfo=UTC)
        assert message["Message-ID"].endswith("@app.example.com>")
        assert message["Auto-Submitted"] == "auto-generated"
        assert message.get_content_type() == "multipart/alternative"
        assert "reaches alice@example.com" in text_of(message)
        assert '<a href="https://app.example.com">' in html_of(message)

    def test_each_message_has_its_own_id(self) -> None:
        first, second = (
            compose(MailTemplates(), SETTINGS, "test", to="a@example.com") for _ in range(2)
        )

        assert first["Message-ID"] != second["Message-ID"]

    def test_html_is_escaped_and_text_is_not(self, tmp_path: Path) -> None:
        templates = MailTemplates([write(tmp_path, GREETING)])

        message = compose(
            templates,
            SETTINGS,
            "greeting",
            to="a@example.com",
            context={"name": "<b>Tom & Jerry</b>", "link": "https://x.example/?a=1&b=2"},
        )

        assert message["Subject"] == "Hello <b>Tom & Jerry</b>"  # one line, as written
        assert text_of(message) == "Hi <b>Tom & Jerry</b>, https://x.example/?a=1&b=2\n"
        assert html_of(message) == (
            "<p>Hi &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;, "
            '<a href="https://x.example/?a=1&amp;b=2">here</a></p>\n'
        )

    def test_a_missing_variable_is_an_error_not_an_empty_link(self, tmp_path: Path) -> None:
        templates = MailTemplates([write(tmp_path, GREETING)])

        with pytest.raises(UndefinedError, match="link"):
            compose(templates, SETTINGS, "greeting", to="a@example.com", context={"name": "x"})

    def test_an_unknown_template_says_which(self) -> None:
        with pytest.raises(UnknownMailTemplate, match=r"nothing/subject\.txt"):
            compose(MailTemplates(), SETTINGS, "nothing", to="a@example.com")


class TestOverriding:
    def test_an_apps_file_replaces_only_that_file(self, tmp_path: Path) -> None:
        app_dir = write(tmp_path, {"test/subject.txt": "Our own subject\n"})

        message = compose(MailTemplates([app_dir]), SETTINGS, "test", to="a@example.com")

        assert message["Subject"] == "Our own subject"
        assert "This is a test message from Sessionary" in text_of(message)

    def test_an_apps_layout_restyles_every_html_mail(self, tmp_path: Path) -> None:
        layout = "<main class='brand'>{% block content %}{% endblock %}</main>\n"
        app_dir = write(tmp_path, {"base.html": layout})

        message = compose(MailTemplates([app_dir]), SETTINGS, "test", to="a@example.com")

        assert html_of(message).startswith("<main class='brand'>")

    def test_directories_are_searched_in_order(self, tmp_path: Path) -> None:
        first = write(tmp_path / "first", {"test/subject.txt": "First\n"})
        second = write(tmp_path / "second", {"test/subject.txt": "Second\n"})

        message = compose(MailTemplates([first, second]), SETTINGS, "test", to="a@example.com")

        assert message["Subject"] == "First"

    def test_a_package_directory(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        write(tmp_path / "brandpkg", {"__init__.py": "", "mail/test/subject.txt": "Brand\n"})
        monkeypatch.syspath_prepend(str(tmp_path))

        message = compose(MailTemplates(["brandpkg:mail"]), SETTINGS, "test", to="a@example.com")

        assert message["Subject"] == "Brand"

    @pytest.mark.parametrize("entry", ["/no/such/dir", "no_such_package_xyz:mail"])
    def test_a_missing_directory_is_a_clear_error(self, entry: str) -> None:
        with pytest.raises(ValueError, match="mail templates"):
            MailTemplates([entry])


class TestLinks:
    def test_public_url_plus_path_with_the_token_as_a_query_parameter(self) -> None:
        assert link(SETTINGS, "/reset-password", "abc") == (
            "https://app.example.com/reset-password?token=abc"
        )

    def test_the_token_is_encoded(self) -> None:
        assert (
            link(SETTINGS, "/verify", "a+b/c=")
            == "https://app.example.com/verify?token=a%2Bb%2Fc%3D"
        )

    def test_keeps_the_public_urls_own_path(self) -> None:
        settings = Settings(public_url="https://example.com/app/")

        assert link(settings, "/verify", "t") == "https://example.com/app/verify?token=t"

    @pytest.mark.parametrize("path", ["reset", "/reset?x=1", "/reset#top"])
    def test_a_path_must_be_a_bare_absolute_path(self, path: str) -> None:
        with pytest.raises(ValueError, match="link path"):
            link(SETTINGS, path, "t")
