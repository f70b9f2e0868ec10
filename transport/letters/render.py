"""Templates to HTML pages: Jinja2 (HTML + print CSS), one full page per document.

A template is a file from outside the engine. It is rendered in Jinja2's sandbox with
``StrictUndefined`` (a variable that does not exist is an error, never a blank). Rendering a
family's letter never quotes the error's own text (it could hold their details); only the
synthetic sample letters that check a template first do. The pages become PDFs in
:mod:`transport.letters.pdf`.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from transport.errors import InputError, Problem

TEMPLATES = Path(__file__).parent / "templates"
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_TITLE = re.compile(r"<title\b[^>]*>.*?</title\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Template:
    """A loaded letter or pack template and the name to quote in error messages."""

    template: jinja2.Template
    name: str
    folder: Path


def load_template(path: str | Path | None, *, default: str) -> Template:
    """Load ``path`` (a council's own template) or the shipped template ``default``.

    Raises
    ------
    InputError
        When the file is missing or unreadable, or the template has a syntax error (its line).
    """
    if path is None:
        file = TEMPLATES / default
        name = f"shipped template {default}"
    else:
        file = Path(path)
        name = str(path)
        if not file.is_file():
            raise InputError([Problem(name, None, None, "template file not found")])
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(file.parent.resolve())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        template = env.get_template(file.name)
    except UnicodeDecodeError:
        raise InputError([Problem(name, None, None, "not a UTF-8 text file")]) from None
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(
            [Problem(name, None, None, f"{_at(exc.lineno)}template syntax error: {exc.message}")]
        ) from None
    except jinja2.TemplateError as exc:  # an include that is missing, …
        raise InputError([Problem(name, None, None, f"template error: {exc}")]) from None
    return Template(template, name, file.parent.resolve())


def render_page(template: Template, context: Mapping[str, Any], *, sample: bool = False) -> str:
    """One document's full HTML page.

    Raises
    ------
    InputError
        Naming the template (and its line) when rendering fails: an undefined variable, a
        filter applied to the wrong type, a missing ``<body>``. The error's own text is quoted
        only for ``sample`` (synthetic) data: with a family's data it could hold their details.
    """
    try:
        page = template.template.render(**context)
    except Exception as exc:  # a template is code from outside: every failure is the template's
        line = _template_line(exc, template)
        if isinstance(exc, jinja2.UndefinedError):
            what = f"uses a variable that does not exist: {exc.message}"
        elif isinstance(exc, jinja2.TemplateSyntaxError):
            what = f"template syntax error: {exc.message}"
        elif sample:
            what = f"fails to render: {type(exc).__name__}: {exc}"
        else:
            what = f"fails to render a letter: {type(exc).__name__} (details withheld)"
        raise InputError([Problem(template.name, None, None, f"{_at(line)}{what}")]) from None
    if not _BODY_OPEN.search(page) or not _BODY_CLOSE.search(page):
        raise InputError([Problem(template.name, None, None, "the page has no <body> element")])
    return page


def _at(line: int | None) -> str:
    return f"line {line}: " if line else ""


def _template_line(exc: BaseException, template: Template) -> int | None:
    """The template line that raised, from the traceback Jinja2 rewrites to point at it."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    filename = template.template.filename
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if filename and frame.filename == filename:
            line = frame.lineno
    return line


def split_page(page: str) -> tuple[str, str]:
    """``(head, body)``: everything before ``<body>`` (title removed) and the body's content."""
    start = _BODY_OPEN.search(page)
    ends = list(_BODY_CLOSE.finditer(page))
    assert start is not None and ends, "render_page checks the page has a body"
    head = _TITLE.sub("", page[: start.start()])
    return head, page[start.end() : ends[-1].start()]


def base_url(template: Template) -> str:
    """The URL relative links of the template resolve against: its own folder."""
    return template.folder.as_uri() + "/"
