"""Mail templates (Jinja2): Sessionary's own, overridable file by file by an app's.

A mail named ``password_reset`` is three templates: ``password_reset/subject.txt``,
``password_reset/body.txt`` and ``password_reset/body.html`` (which may extend
``base.html``, the shared HTML layout). The directories of ``SESSIONARY_MAIL_TEMPLATES``
(a path, or ``package:directory`` inside an installed package) are searched first, in
order, then Sessionary's own, so an app overrides one file (the layout, one mail's text)
and keeps the rest. HTML is autoescaped; the subject and text parts are not HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)


class UnknownMailTemplate(LookupError):
    """No template set of that name (a programming error, not a user's)."""


class MailTemplatesNotFound(ValueError):
    """A ``SESSIONARY_MAIL_TEMPLATES`` entry names no directory: a configuration mistake,
    reported when the runtime is built (start-up, a command), never at the first mail."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def template_directory(entry: str) -> Path:
    """A directory path, or ``package:directory`` inside an importable package."""
    path = Path(entry)
    if not path.is_dir() and ":" in entry:
        package, _, inside = entry.partition(":")
        try:
            path = Path(str(files(package).joinpath(inside)))
        except ModuleNotFoundError:
            raise MailTemplatesNotFound(
                f"mail templates {entry!r}: no package {package!r}"
            ) from None
    if not path.is_dir():
        raise MailTemplatesNotFound(f"mail templates {entry!r}: not a directory")
    return path


class MailTemplates:
    """Renders a mail by name; the given directories are searched before Sessionary's own."""

    def __init__(self, directories: Iterable[str | Path] = ()) -> None:
        loaders: list[BaseLoader] = [
            FileSystemLoader(template_directory(str(entry))) for entry in directories
        ]
        loaders.append(PackageLoader("sessionary.mail", "templates"))
        self.environment = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            # A mail missing its link is worse than no mail: an absent variable is an error.
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> RenderedMail:
        try:
            subject, text, html = (
                self.environment.get_template(f"{name}/{part}").render(context)
                for part in ("subject.txt", "body.txt", "body.html")
            )
        except TemplateNotFound as exc:
            raise UnknownMailTemplate(f"no mail template {exc.name!r}") from None
        # One line, whatever the template's line breaks: a header cannot hold more.
        return RenderedMail(subject=" ".join(subject.split()), text=text, html=html)
