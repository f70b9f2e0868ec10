"""Templates to PDF: Jinja2 (HTML + print CSS) rendered by WeasyPrint, many documents at once.

Each document (a family's letter, a crew pack) is rendered from the template to a full HTML
page. Rendering thousands of separate PDFs costs a layout engine start-up each, so documents
are laid out in chunks: one HTML file per chunk holding the ``<head>`` of the first document
and the ``<body>`` of every document, each starting on a new page. WeasyPrint lays a chunk out
once; each document's pages are found by an anchor at its start, written to their own PDF
with pypdf, and the chunk PDFs are joined into the combined file. Chunks are shared among
worker processes.

Privacy: a template is a file from outside the engine. It is rendered in Jinja2's sandbox with
``StrictUndefined`` (a variable that does not exist is an error, never a blank); WeasyPrint may
load only local files below the template's folder and ``data:`` URLs, so no template can send
anything over the network; WeasyPrint's own log messages are silenced while families' letters
are rendered (they could quote a document's content) and are reported only for the synthetic
sample letter that checks the template first.
"""

from __future__ import annotations

import gc
import html
import logging
import multiprocessing
import os
import re
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import jinja2
import pypdf
from jinja2.sandbox import SandboxedEnvironment

from transport.errors import InputError, Problem

TEMPLATES = Path(__file__).parent / "templates"
FILE_MODE = 0o600
DIR_MODE = 0o700
CHUNK_SIZE = 50
"""Documents laid out together: big enough to share the start-up, small enough to stay lean."""
PRODUCER = "sen-transport (WeasyPrint, pypdf)"
GC_THRESHOLD = (100_000, 50, 100)
"""Layout makes millions of short-lived objects: collecting less often saves about a fifth."""

_ANCHOR = "sen-doc-"
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


@dataclass(frozen=True)
class Job:
    """Documents to render: each ``(file, body)`` goes to ``folder/file``, all to ``combined``."""

    head: str
    documents: tuple[tuple[str, str], ...]
    base_url: str
    title: str


def render_pdfs(
    job: Job,
    folder: str | Path,
    *,
    combined: str | None = None,
    workers: int = 1,
    chunk_size: int | None = None,
) -> list[int]:
    """Render every document of ``job`` to its own PDF (and all to ``combined``).

    Parameters
    ----------
    job
        The documents and the shared ``<head>``.
    folder
        Where to write (files 0600, folders 0700): each document at its relative path.
    combined
        A file name (relative to ``folder``) for one PDF of every document in order, each
        starting on a new page.
    workers
        Processes laying out chunks (1 = in this process).
    chunk_size
        Documents laid out together (default :data:`CHUNK_SIZE`).

    Returns
    -------
    list of int
        Pages of each document, in order.
    """
    folder = Path(folder)
    size = chunk_size or CHUNK_SIZE
    chunks = [job.documents[i : i + size] for i in range(0, len(job.documents), size)]
    scratch = folder / ".chunks"
    scratch.mkdir(mode=DIR_MODE, exist_ok=True)
    for sub in sorted({Path(name).parent for name, _ in job.documents} - {Path(".")}):
        (folder / sub).mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tasks = [
        (i, job.head, job.base_url, job.title, chunk, str(folder), str(scratch))
        for i, chunk in enumerate(chunks)
    ]
    writer = pypdf.PdfWriter() if combined is not None else None
    counts: list[int] = []

    def collect(result: tuple[int, str, list[int]]) -> None:
        _, path, sizes = result
        if writer is not None:
            writer.append(path)  # chunks arrive in order: joined while the others render
        Path(path).unlink()
        counts.extend(sizes)

    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            collect(_render_chunk(task))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
            for result in pool.map(_render_chunk, tasks):
                collect(result)
    scratch.rmdir()
    if writer is not None and combined is not None:
        writer.add_metadata({"/Title": job.title, "/Producer": PRODUCER})
        fd = os.open(folder / combined, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with open(fd, "wb") as fh:
            writer.write(fh)
    return counts


def _render_chunk(
    task: tuple[int, str, str, str, Sequence[tuple[str, str]], str, str],
) -> tuple[int, str, list[int]]:
    """Lay out one chunk, write each document's pages to its PDF; returns the chunk's PDF."""
    index, head, base_url, title, documents, folder, scratch = task
    threshold = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        with quiet_weasyprint():
            from weasyprint import HTML

            page = _chunk_html(head, title, [body for _, body in documents])
            fetcher = local_fetcher(base_url)
            doc = HTML(string=page, base_url=base_url, url_fetcher=fetcher).render()
            data = doc.write_pdf()
    finally:
        gc.set_threshold(*threshold)
    starts = [-1] * len(documents)
    for number, pdf_page in enumerate(doc.pages):
        for anchor in pdf_page.anchors:
            if anchor.startswith(_ANCHOR):
                k = int(anchor[len(_ANCHOR) :])
                if starts[k] < 0:
                    starts[k] = number
    if any(s < 0 for s in starts):
        raise InputError([Problem(title, None, None, "a document rendered as no page at all")])
    ends = [*starts[1:], len(doc.pages)]
    reader = pypdf.PdfReader(BytesIO(data))
    counts = []
    for (name, _), first, end in zip(documents, starts, ends, strict=True):
        writer = pypdf.PdfWriter()
        for n in range(first, end):
            writer.add_page(reader.pages[n])
        writer.add_metadata({"/Title": title, "/Producer": PRODUCER})
        buffer = BytesIO()
        writer.write(buffer)
        write_private(Path(folder) / name, buffer.getvalue())
        counts.append(end - first)
    path = Path(scratch) / f"chunk-{index:05d}.pdf"
    write_private(path, data)
    return index, str(path), counts


def _chunk_html(head: str, title: str, bodies: Sequence[str]) -> str:
    parts = [head, f"<title>{html.escape(title)}</title>", "<body>"]
    for k, body in enumerate(bodies):
        style = "break-before: page; page-break-before: always" if k else ""
        parts.append(f'<div id="{_ANCHOR}{k}" style="{style}">{body}</div>')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_private(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a file readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, FILE_MODE)


def local_fetcher(base_url: str) -> Any:
    """A WeasyPrint URL fetcher that loads only files below ``base_url`` and ``data:`` URLs."""
    from weasyprint.urls import URLFetcher

    root = _file_path(base_url)

    class LocalFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:"):
                path = _file_path(url)
                if path != root and root not in path.parents:
                    raise ValueError("only files beside the template may be loaded")
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols=("file", "data"), timeout=1)


def _file_path(url: str) -> Path:
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    return Path(url2pathname(urlsplit(url).path)).resolve()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class quiet_weasyprint:  # noqa: N801 - used as a context manager, like contextlib's
    """Keep WeasyPrint's log messages out of the logs; ``messages`` holds what it said."""

    def __enter__(self) -> _Collect:
        self.handler = _Collect()
        self.saved = []
        for name in ("weasyprint", "weasyprint.progress", "fontTools"):
            logger = logging.getLogger(name)
            self.saved.append((logger, logger.propagate, list(logger.handlers), logger.level))
            logger.handlers = [self.handler]
            logger.propagate = False
            if name == "weasyprint":
                logger.setLevel(logging.WARNING)
        return self.handler

    def __exit__(self, *exc: object) -> None:
        for logger, propagate, handlers, level in self.saved:
            logger.handlers = handlers
            logger.propagate = propagate
            logger.setLevel(level)


def check_layout(template: Template, page: str) -> list[str]:
    """Lay out one (synthetic) page; returns WeasyPrint's warnings (CSS it ignored, …)."""
    base = template.folder.as_uri()
    with quiet_weasyprint() as said:
        from weasyprint import HTML

        HTML(string=page, base_url=base, url_fetcher=local_fetcher(base)).render()
    return said.messages


def base_url(template: Template) -> str:
    return template.folder.as_uri() + "/"
