"""HTML pages to PDF files: many documents at once, each to its own file and all to one.

Starting a layout engine for each of thousands of documents (a family's letter, a crew pack)
would cost more than the documents, so they are printed in chunks: one HTML page per chunk
holding the ``<head>`` of the first document and the ``<body>`` of every document, each
starting on a new page in an element with an id (:func:`chunk_html`). Each chunk's pages are
split with pypdf into each document's own file, and the chunks are joined, in order, into the
combined file while the next ones print.

Engines (:func:`choose_engine`):

``chromium``
    headless Chromium (:mod:`transport.letters.chromium`): one browser, one page per worker
    printing chunks side by side, driven from threads of this process, which also split the
    PDFs. A hidden link to each document's start makes Chromium record the start as a named
    destination: that is where the document's pages begin. About 10 ms of CPU a letter.
``weasyprint``
    WeasyPrint (:mod:`transport.letters.weasy`) in worker processes: the fallback when no
    Chromium is installed, about 8 times slower.

A document's file holds its own pages only: no outline, no named destination, and no link but
links to web pages (an internal link points at a page of the chunk, which may be another
family's letter).
"""

from __future__ import annotations

import contextlib
import html
import multiprocessing
import os
import queue
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pypdf
from pypdf.annotations import Link

from transport.errors import InputError, ParameterError, Problem
from transport.letters.chromium import Browser, Page, PdfEngineError, find_chromium

FILE_MODE = 0o600
DIR_MODE = 0o700
ENGINES = ("auto", "chromium", "weasyprint")
"""``auto``: Chromium when one is installed, else WeasyPrint (with a warning)."""
CHUNK_SIZE = {"chromium": 100, "weasyprint": 50}
"""Documents printed together: enough to share the start-up, few enough to stay lean (a
Chromium page of 100 letters holds about 150 MB)."""
ANCHOR = "sen-transport-doc-"
SLOW_FALLBACK = (
    "Chromium is not installed: the PDFs were laid out by WeasyPrint, about 8 times slower "
    "(install Chromium: on Debian, apt-get install chromium)"
)
SAMPLE_TIMEOUT_S = 120.0
_DONE: Future[Any] = Future()
_DONE.set_result(None)


@dataclass(frozen=True)
class Job:
    """Documents to render: each ``(file, body)`` goes to ``folder/file``, all to ``combined``.

    ``sample``, a synthetic document's full page, is laid out first: what the engine says
    about it (CSS it ignored, files it could not load) is reported as the template's warnings.
    """

    head: str
    documents: tuple[tuple[str, str], ...]
    base_url: str
    title: str
    sample: str | None = None


@dataclass(frozen=True)
class Engine:
    """The engine chosen: ``chromium`` (and its ``binary``) or ``weasyprint``."""

    name: str
    binary: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rendered:
    """What :meth:`Printer.render` did: pages of each document, the engine and what it said.

    ``warnings`` are the engine's complaints about the sample page (about the template);
    ``engine_warnings`` about the engine itself (the slow fallback).
    """

    pages: list[int]
    engine: str
    warnings: list[str]
    engine_warnings: tuple[str, ...] = ()


def choose_engine(engine: str = "auto") -> Engine:
    """The PDF engine for ``engine`` (one of :data:`ENGINES`).

    Raises
    ------
    ParameterError
        For an unknown engine.
    PdfEngineError
        When ``chromium`` is asked for and none is installed.
    """
    if engine not in ENGINES:
        raise ParameterError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine == "weasyprint":
        return Engine("weasyprint")
    binary = find_chromium()
    if binary is not None:
        return Engine("chromium", binary)
    if engine == "chromium":
        raise PdfEngineError(
            "--engine chromium: no Chromium found (looked for $SEN_TRANSPORT_CHROMIUM, then "
            "chromium, chromium-browser, google-chrome on PATH); install it (Debian: apt-get "
            "install chromium) or give --engine weasyprint"
        )
    return Engine("weasyprint", warnings=(SLOW_FALLBACK,))


def render_pdfs(
    job: Job,
    folder: str | Path,
    *,
    combined: str | None = None,
    workers: int = 1,
    engine: Engine | None = None,
    chunk_size: int | None = None,
) -> Rendered:
    """Render every document of ``job`` to its own PDF (and all to ``combined``).

    One :class:`Printer` for one job; see :meth:`Printer.render`.
    """
    with Printer(engine or choose_engine(), workers=workers) as printer:
        return printer.render(job, folder, combined=combined, chunk_size=chunk_size)


class Printer:
    """An engine started once for several jobs (a browser, or WeasyPrint's processes).

    Parameters
    ----------
    engine
        From :func:`choose_engine`.
    workers
        Chunks printed at the same time: Chromium pages (one browser) or WeasyPrint processes
        (1: in this process).
    """

    def __init__(self, engine: Engine, *, workers: int = 1) -> None:
        self.engine = engine
        self.workers = max(1, workers)
        self._stack = contextlib.ExitStack()
        self._browser: Browser | None = None
        self._pages: list[Page] = []
        self._pool: Executor | None = None

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def render(
        self,
        job: Job,
        folder: str | Path,
        *,
        combined: str | None = None,
        chunk_size: int | None = None,
    ) -> Rendered:
        """Render every document of ``job`` to its own PDF (and all to ``combined``).

        Parameters
        ----------
        job
            The documents, the shared ``<head>`` and a sample page to check first.
        folder
            Where to write (files 0600, folders 0700): each document at its relative path.
        combined
            A file name (relative to ``folder``) for one PDF of every document in order, each
            starting on a new page.
        chunk_size
            Documents printed together (default :data:`CHUNK_SIZE` of the engine).

        Returns
        -------
        Rendered
            Pages of each document in order, the engine used, its warnings about the sample
            and (with WeasyPrint chosen automatically) that it is the slow fallback.

        Raises
        ------
        InputError
            When a document renders as no page at all.
        PdfEngineError
            When the engine fails (Chromium stops, or does not answer in time).
        """
        folder = Path(folder)
        size = chunk_size or CHUNK_SIZE[self.engine.name]
        chunks = [job.documents[i : i + size] for i in range(0, len(job.documents), size)]
        if not chunks:
            return Rendered([], self.engine.name, [], self.engine.warnings)
        for sub in sorted({Path(name).parent for name, _ in job.documents} - {Path(".")}):
            (folder / sub).mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        writer = pypdf.PdfWriter() if combined is not None else None
        counts: list[int] = []

        def collect(reader: pypdf.PdfReader, sizes: list[int]) -> None:
            if writer is not None:  # chunks arrive in order: joined while the others print
                for page in reader.pages:
                    copy_page(writer, page)
            counts.extend(sizes)

        if self.engine.name == "chromium":
            warnings = self._print_with_chromium(job, chunks, folder, collect)
        else:
            warnings = self._lay_out_with_weasyprint(job, chunks, folder, collect)
        if writer is not None and combined is not None:
            writer.add_metadata({"/Title": job.title, "/Producer": producer(self.engine.name)})
            fd = os.open(folder / combined, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with open(fd, "wb") as fh:
                writer.write(fh)
        return Rendered(counts, self.engine.name, warnings, self.engine.warnings)

    def _print_with_chromium(
        self, job: Job, chunks: Sequence[Sequence[tuple[str, str]]], folder: Path, collect: Any
    ) -> list[str]:
        """Print the chunks, a page per worker; returns the warnings about the sample."""
        if self._browser is None:
            assert self.engine.binary is not None
            self._browser = self._stack.enter_context(Browser.launch(self.engine.binary))
            self._pages = [self._browser.new_page() for _ in range(self.workers)]
            pool = ThreadPoolExecutor(len(self._pages), thread_name_prefix="chromium-page")
            self._stack.callback(pool.shutdown, wait=True, cancel_futures=True)
            self._pool = pool
        resources = _file_path(job.base_url)
        warnings: list[str] = []
        if job.sample is not None:
            page = self._pages[0]
            page.print_pdf(job.sample, resources=resources, timeout=SAMPLE_TIMEOUT_S)
            warnings = [
                f"refused to load {url} (a template may load only files beside it)"
                for url in page.refused
            ]
        free: queue.SimpleQueue[Page] = queue.SimpleQueue()
        for page in self._pages:
            free.put(page)

        def task(chunk: Sequence[tuple[str, str]]) -> tuple[pypdf.PdfReader, list[int]]:
            page = free.get()
            try:
                html_page = chunk_html(job.head, job.title, [b for _, b in chunk], chromium=True)
                timeout = SAMPLE_TIMEOUT_S + 2.0 * len(chunk)
                data = page.print_pdf(html_page, resources=resources, timeout=timeout)
                page.clear()
            finally:
                free.put(page)
            reader = pypdf.PdfReader(BytesIO(data))
            starts = destination_starts(reader, len(chunk))
            names = [name for name, _ in chunk]
            counts = write_documents(reader, starts, names, folder, job.title, engine="chromium")
            return reader, counts

        assert self._pool is not None
        futures: list[Future[tuple[pypdf.PdfReader, list[int]]]] = [
            self._pool.submit(task, chunk) for chunk in chunks
        ]
        try:
            for k, future in enumerate(futures):
                collect(*future.result())
                futures[k] = _DONE  # the chunk's PDF is freed as soon as it is joined
        finally:
            for future in futures:
                future.cancel()
            for future in futures:  # none still printing when this job ends, even on error
                with contextlib.suppress(BaseException):
                    future.exception()
        return warnings

    def _lay_out_with_weasyprint(
        self, job: Job, chunks: Sequence[Sequence[tuple[str, str]]], folder: Path, collect: Any
    ) -> list[str]:
        """Lay the chunks out in worker processes; returns WeasyPrint's warnings (sample)."""
        from transport.letters import weasy

        warnings = weasy.check_layout(job.sample, job.base_url) if job.sample else []
        scratch = folder / ".chunks"
        scratch.mkdir(mode=DIR_MODE, exist_ok=True)
        tasks = [
            (i, job.head, job.base_url, job.title, chunk, str(folder), str(scratch))
            for i, chunk in enumerate(chunks)
        ]

        def take(result: tuple[int, str, list[int]]) -> None:
            _, path, sizes = result
            collect(pypdf.PdfReader(path), sizes)
            Path(path).unlink()

        if self.workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                take(weasy.render_chunk(task))
        else:
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
                self._stack.callback(self._pool.shutdown, wait=True, cancel_futures=True)
            for result in self._pool.map(weasy.render_chunk, tasks):
                take(result)
        scratch.rmdir()
        return sorted(set(warnings))


def producer(engine: str) -> str:
    """The PDFs' ``/Producer``."""
    return f"sen-transport ({'Chromium' if engine == 'chromium' else 'WeasyPrint'}, pypdf)"


def chunk_html(head: str, title: str, bodies: Sequence[str], *, chromium: bool) -> str:
    """One page holding every body, each starting on a new page in an element with an id.

    For Chromium, a hidden link to each start makes it record the start as a named
    destination: the only way it tells on which page an element is printed.
    """
    parts = [head, f"<title>{html.escape(title)}</title>", "<body>"]
    for k, body in enumerate(bodies):
        style = "break-before: page; page-break-before: always" if k else ""
        link = f'<a href="#{ANCHOR}{k}" style="display: none"></a>' if chromium else ""
        parts.append(f'<div id="{ANCHOR}{k}" style="{style}">{link}{body}</div>')
    parts.append("</body></html>")
    return "\n".join(parts)


def destination_starts(reader: pypdf.PdfReader, documents: int) -> list[int]:
    """The first page (0-based) of each document, from the named destinations of its anchor.

    A document without a destination gets ``-1``.
    """
    starts = [-1] * documents
    for name, destination in reader.named_destinations.items():
        key = str(name).lstrip("/")
        if key.startswith(ANCHOR) and key[len(ANCHOR) :].isdigit():
            k = int(key[len(ANCHOR) :])
            if k < documents:
                starts[k] = reader.get_destination_page_number(destination)
    return starts


def write_documents(
    reader: pypdf.PdfReader,
    starts: Sequence[int],
    names: Sequence[str],
    folder: Path,
    title: str,
    *,
    engine: str,
) -> list[int]:
    """Write each document's pages (from ``starts[k]`` to the next start) to ``folder/name``.

    Returns each document's page count.

    Raises
    ------
    InputError
        When a document has no page of its own (its template renders nothing).
    """
    total = len(reader.pages)
    ends = [*starts[1:], total]
    if any(not 0 <= first < end <= total for first, end in zip(starts, ends, strict=True)):
        raise InputError([Problem(title, None, None, "a document rendered as no page at all")])
    counts = []
    for name, first, end in zip(names, starts, ends, strict=True):
        writer = pypdf.PdfWriter()
        for n in range(first, end):
            copy_page(writer, reader.pages[n])
        writer.add_metadata({"/Title": title, "/Producer": producer(engine)})
        buffer = BytesIO()
        writer.write(buffer)
        write_private(folder / name, buffer.getvalue())
        counts.append(end - first)
    return counts


def copy_page(writer: pypdf.PdfWriter, page: pypdf.PageObject) -> None:
    """Add ``page`` to ``writer`` with its links to web pages only.

    Every other annotation is left out: an internal link points at a page of the chunk, which
    may be another family's letter, and copying it would copy that page too.
    """
    added = writer.add_page(page, excluded_keys=("/Annots",))
    for ref in page.get("/Annots") or ():
        annotation = ref.get_object()
        action = annotation.get("/A")
        action = action.get_object() if action is not None else None
        if (
            annotation.get("/Subtype") == "/Link"
            and action is not None
            and action.get("/S") == "/URI"
            and "/Rect" in annotation
        ):
            rect = tuple(float(v) for v in annotation["/Rect"])
            writer.add_annotation(added, Link(rect=rect, url=str(action["/URI"])))  # type: ignore[arg-type]


def write_private(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a file readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, FILE_MODE)


def _file_path(url: str) -> Path:
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    return Path(url2pathname(urlsplit(url).path)).resolve()
