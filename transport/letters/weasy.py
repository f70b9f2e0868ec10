"""The WeasyPrint engine: the fallback when no Chromium is installed (about 8 times slower).

A chunk of documents is laid out in one WeasyPrint document; each document's first page is
found by the anchor at its start. Chunks are shared among worker processes, which also split
their chunk into each document's file (:func:`transport.letters.pdf.write_documents`).

Privacy: WeasyPrint may load only local files below the template's folder and ``data:`` URLs,
so no template can send anything over the network; WeasyPrint's own log messages are silenced
while families' letters are rendered (they could quote a document's content) and are reported
only for the synthetic sample letter that checks the template first.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import pypdf

from transport.letters.pdf import ANCHOR, chunk_html, write_documents, write_private

GC_THRESHOLD = (100_000, 50, 100)
"""Layout makes millions of short-lived objects: collecting less often saves about a fifth."""


def lay_out_chunk(
    page: str, base_url: str, *, documents: int, anchor: str
) -> tuple[bytes, list[int]]:
    """The PDF of one chunk's HTML and the first page (0-based) of each of its documents.

    A document with no page of its own gets ``-1``.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        with quiet_weasyprint():
            from weasyprint import HTML

            doc = HTML(string=page, base_url=base_url, url_fetcher=local_fetcher(base_url)).render()
            data = doc.write_pdf()
    finally:
        gc.set_threshold(*threshold)
    starts = [-1] * documents
    for number, pdf_page in enumerate(doc.pages):
        for name in pdf_page.anchors:
            if name.startswith(anchor):
                k = int(name[len(anchor) :])
                if starts[k] < 0:
                    starts[k] = number
    return data, starts


def render_chunk(
    task: tuple[int, str, str, str, Sequence[tuple[str, str]], str, str],
) -> tuple[int, str, list[int]]:
    """A worker's task: lay out one chunk, write each document's file, keep the chunk's PDF.

    Returns the chunk's index, the path of its PDF (in the scratch folder) and each
    document's page count.
    """
    index, head, base_url, title, documents, folder, scratch = task
    page = chunk_html(head, title, [body for _, body in documents], chromium=False)
    data, starts = lay_out_chunk(page, base_url, documents=len(documents), anchor=ANCHOR)
    reader = pypdf.PdfReader(BytesIO(data))
    names = [n for n, _ in documents]
    counts = write_documents(reader, starts, names, Path(folder), title, engine="weasyprint")
    path = Path(scratch) / f"chunk-{index:05d}.pdf"
    write_private(path, data)
    return index, str(path), counts


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


def check_layout(page: str, base_url: str) -> list[str]:
    """Lay out one (synthetic) page; returns WeasyPrint's warnings (CSS it ignored, …)."""
    with quiet_weasyprint() as said:
        from weasyprint import HTML

        HTML(string=page, base_url=base_url, url_fetcher=local_fetcher(base_url)).render()
    return said.messages
