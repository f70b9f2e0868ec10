"""Headless Chromium, driven through the DevTools protocol, printing HTML to PDF.

The browser is started with ``--remote-debugging-pipe``: its DevTools protocol is spoken over
two inherited file descriptors (3 and 4) that only this process holds. A debugging *port*
would let any other user of the machine connect and read the letters while they print.

Every page runs in its own off-the-record browser context (nothing is kept on disk; each
context gets its own renderer process, so pages print in parallel) and runs no script. Every
request a page makes is intercepted: the document itself is served from memory, a file only
from below the folder the page's resources may come from (a template's logo beside it), and
everything else is refused — no request ever reaches the network or another file. Host names
do not resolve either (``--host-resolver-rules``), should anything slip past.

The browser's own output (stderr) is kept only to explain a failure to start; it is never
logged.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import mimetypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from transport.errors import TransportError

CHROMIUM_ENV = "SEN_TRANSPORT_CHROMIUM"
"""Path of the browser to use (else the first of :data:`BROWSER_NAMES` on ``PATH``)."""
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",  # containers and CI runners rarely allow Chromium's own sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--disable-features=BackForwardCache",
    "--remote-debugging-pipe",
)
HOST = "sen-transport.invalid"
"""The pages' origin: never resolved, every request to it is answered from this process."""
START_TIMEOUT_S = 60.0
FONTS_READY = "document.fonts.ready.then(() => true)"
"""Resolves when the web fonts the page uses are loaded (they may still be coming at ``load``)."""
ORPHAN_SHIM = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)\n"  # 1: PR_SET_PDEATHSIG
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(1)\n"  # the parent died before the signal was set
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)
"""Run before the browser on Linux (then replaced by it, same process): the kernel kills the
browser when the process that started it dies, however it dies (SIGKILL included). Without it
a killed command would leave a browser behind, orphaned, holding the letters' memory."""
A4_INCHES = (8.27, 11.69)
DEFAULT_MARGIN_INCHES = 0.78125
"""A page without ``@page`` rules: A4 with WeasyPrint's default margin (75 CSS px)."""


class PdfEngineError(TransportError):
    """The PDF engine is missing, or failed while printing (nothing is written then)."""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) to use: ``$SEN_TRANSPORT_CHROMIUM``, else one on ``PATH``.

    Raises
    ------
    PdfEngineError
        When ``$SEN_TRANSPORT_CHROMIUM`` is set but names no program.
    """
    chosen = os.environ.get(CHROMIUM_ENV, "").strip()
    if chosen:
        if Path(chosen).is_file() and os.access(chosen, os.X_OK):
            return chosen
        raise PdfEngineError(f"${CHROMIUM_ENV} is {chosen}, which is not a program to run")
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    number: int = 0
    message: dict[str, Any] | None = None


class Browser:
    """A headless Chromium and its DevTools pipe (use :meth:`launch`, as a context manager).

    Thread-safe: :meth:`call` may be used from several threads at once (one page each).
    """

    def __init__(self, binary: str, pid: int, to_browser: int, from_browser: int, home: Path):
        self.binary = binary
        self.pid = pid
        self._out = to_browser
        self._in = from_browser
        self._home = home
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._pages: dict[str, Page] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self._exited = False
        self._reader = threading.Thread(target=self._read, name="chromium-pipe", daemon=True)
        self._reader.start()

    @classmethod
    @contextlib.contextmanager
    def launch(cls, binary: str) -> Iterator[Browser]:
        """Start ``binary`` headless with a fresh profile; stopped and removed on exit."""
        home = Path(tempfile.mkdtemp(prefix="sen-transport-chromium-"))
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        log = home / "stderr.txt"
        args = [binary, *FLAGS, f"--user-data-dir={home / 'profile'}", "about:blank"]
        program = binary
        if sys.platform == "linux":  # the browser dies with this process
            program = sys.executable
            args = [program, "-I", "-S", "-c", ORPHAN_SHIM, str(os.getpid()), *args]
        try:
            pid = os.posix_spawn(
                program,
                args,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, to_r, 3),
                    (os.POSIX_SPAWN_DUP2, from_w, 4),
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, str(log), os.O_WRONLY | os.O_CREAT, 0o600),
                ],
                setpgroup=0,  # its own process group: stopped as a whole, never ours
            )
        except OSError as exc:
            for fd in (to_r, to_w, from_r, from_w):
                os.close(fd)
            shutil.rmtree(home, ignore_errors=True)
            raise PdfEngineError(f"cannot start Chromium ({binary}): {exc.strerror}") from None
        os.close(to_r)
        os.close(from_w)
        browser = cls(binary, pid, to_w, from_r, home)
        try:
            try:
                browser.call("Browser.getVersion", timeout=START_TIMEOUT_S)
            except PdfEngineError:
                raise PdfEngineError(
                    f"Chromium ({binary}) did not start: {browser._stderr_tail()}"
                ) from None
            yield browser
        finally:
            browser.close()
            shutil.rmtree(home, ignore_errors=True)

    def _stderr_tail(self) -> str:
        try:
            lines = (self._home / "stderr.txt").read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return " / ".join(lines[-3:]) or "it stopped without a message"

    # -- the pipe ---------------------------------------------------------------------------

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> None:
        """Send a command without waiting for its answer."""
        self._send(method, params, session, answer=False)

    def _send(
        self, method: str, params: dict[str, Any] | None, session: str, *, answer: bool
    ) -> _Pending | None:
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        pending = _Pending(number=number) if answer else None
        with self._lock:
            if self._closed:
                raise PdfEngineError("Chromium has stopped")
            if pending is not None:
                self._pending[number] = pending
        with self._write_lock:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._out, view) :]
            except OSError:
                self._fail_all()
                raise PdfEngineError("Chromium has stopped") from None
        return pending

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: str = "",
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Send a command and wait for its result."""
        pending = self._send(method, params, session, answer=True)
        assert pending is not None
        answered = pending.done.wait(timeout)
        with self._lock:
            self._pending.pop(pending.number, None)
        if not answered:
            raise PdfEngineError(f"Chromium did not answer {method} within {timeout:.0f} s")
        message = pending.message
        if message is None:
            raise PdfEngineError(f"Chromium stopped while running {method}")
        if "error" in message:
            raise PdfEngineError(f"Chromium refused {method}: {message['error'].get('message')}")
        return message.get("result", {})

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    break
                buffer += chunk
                if b"\0" not in chunk:
                    continue
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    self._dispatch(json.loads(raw))
        except (OSError, ValueError):
            pass
        finally:
            self._fail_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            with self._lock:
                pending = self._pending.get(message["id"])
            if pending is not None:
                pending.message = message
                pending.done.set()
            return
        page = self._pages.get(message.get("sessionId", ""))
        if page is not None:
            page.on_event(message["method"], message.get("params", {}))

    def _fail_all(self) -> None:
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
        for p in pending:
            p.done.set()
        for page in list(self._pages.values()):
            page.stopped()

    # -- pages ------------------------------------------------------------------------------

    def new_page(self) -> Page:
        """A page in its own off-the-record context (and so its own renderer process)."""
        context = self.call("Target.createBrowserContext", {"disposeOnDetach": True})
        target = self.call(
            "Target.createTarget",
            {"url": "about:blank", "browserContextId": context["browserContextId"]},
        )
        session = self.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        page = Page(self, session)
        self._pages[session] = page
        self.call("Page.enable", session=session)
        self.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session=session)
        self.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, session=session)
        # no script runs: a template's script could copy one letter into another (a hundred
        # letters share a document), and WeasyPrint runs none either
        self.call("Emulation.setScriptExecutionDisabled", {"value": True}, session=session)
        return page

    def close(self) -> None:
        """Ask the browser to quit; stop its process group if it does not."""
        if not self._exited:
            with contextlib.suppress(PdfEngineError):
                if not self._closed:
                    self.call("Browser.close", timeout=5.0)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.02)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            self._exited = True
        for fd in (self._out, self._in):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._reader.join(timeout=5.0)


class Page:
    """One browser tab: loads a document from memory and prints it to PDF."""

    def __init__(self, browser: Browser, session: str):
        self.browser = browser
        self.session = session
        self.resources: Path | None = None
        self.refused: list[str] = []
        """What the last page printed asked for and was refused (it may quote the page)."""
        self._document: tuple[str, bytes] = ("", b"")
        self._count = itertools.count()
        self._loads: set[str] = set()
        self._changed = threading.Condition()
        self._stopped = False

    def print_pdf(self, html: str, *, resources: Path | None, timeout: float) -> bytes:
        """Load ``html`` and print it; returns the PDF.

        ``resources`` is the folder the page may load files from (its relative links resolve
        there); nothing else can be loaded. The page's own ``@page`` size and margins win;
        without them, A4.
        """
        deadline = time.monotonic() + timeout
        url = f"https://{HOST}/sen-transport-page-{next(self._count)}.html"
        self.refused = []
        self.resources = resources.resolve() if resources is not None else None
        self._document = (url, html.encode("utf-8"))
        try:
            self._navigate(url, deadline)
        finally:
            self._document = ("", b"")
        self.browser.call(
            "Runtime.evaluate",
            {"expression": FONTS_READY, "awaitPromise": True},
            session=self.session,
            timeout=max(1.0, deadline - time.monotonic()),
        )
        pdf = self.browser.call(
            "Page.printToPDF",
            {
                "printBackground": True,
                "preferCSSPageSize": True,
                "paperWidth": A4_INCHES[0],
                "paperHeight": A4_INCHES[1],
                **{
                    f"margin{side}": DEFAULT_MARGIN_INCHES
                    for side in ("Top", "Bottom", "Left", "Right")
                },
                "generateTaggedPDF": False,
                "generateDocumentOutline": False,
                "transferMode": "ReturnAsBase64",
            },
            session=self.session,
            timeout=max(1.0, deadline - time.monotonic()),
        )
        return base64.b64decode(pdf["data"])

    def clear(self) -> None:
        """Leave the page blank and free what the last document left in the renderer.

        Without it a renderer keeps the garbage of earlier documents and grows by about
        100 MB a chunk of letters.
        """
        self._navigate("about:blank", time.monotonic() + 60.0)
        self.browser.call("HeapProfiler.collectGarbage", session=self.session)

    def _navigate(self, url: str, deadline: float) -> None:
        """Load ``url`` and wait for its ``load`` event (until ``deadline``, monotonic)."""
        result = self.browser.call("Page.navigate", {"url": url}, session=self.session)
        if result.get("errorText"):
            raise PdfEngineError(f"Chromium could not load a page: {result['errorText']}")
        loader = result.get("loaderId", "")
        with self._changed:
            loaded = self._changed.wait_for(
                lambda: loader in self._loads or self._stopped,
                max(0.0, deadline - time.monotonic()),
            )
            self._loads.clear()
        if not loaded or self._stopped:
            raise PdfEngineError("Chromium did not load a page in time")

    def stopped(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    # -- called on the pipe's reader thread --------------------------------------------------

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.lifecycleEvent" and params.get("name") == "load":
            with self._changed:
                self._loads.add(params.get("loaderId", ""))
                self._changed.notify_all()
        elif method == "Fetch.requestPaused":
            self._answer(params)

    def _answer(self, params: dict[str, Any]) -> None:
        url = params["request"]["url"]
        request = params["requestId"]
        found = self._resource(url)
        if found is None:
            if url != f"https://{HOST}/favicon.ico":
                self.refused.append(url)
            self.browser.send(
                "Fetch.failRequest",
                {"requestId": request, "errorReason": "BlockedByClient"},
                session=self.session,
            )
            return
        body, mime = found
        self.browser.send(
            "Fetch.fulfillRequest",
            {
                "requestId": request,
                "responseCode": 200,
                "responseHeaders": [
                    {"name": "Content-Type", "value": mime},
                    {"name": "Cache-Control", "value": "no-store"},
                ],
                "body": base64.b64encode(body).decode("ascii"),
            },
            session=self.session,
        )

    def _resource(self, url: str) -> tuple[bytes, str] | None:
        """The document, or a file below :attr:`resources`; ``None``: refuse the request."""
        document_url, document = self._document
        if document_url and url == document_url:
            return document, "text/html; charset=utf-8"
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.netloc != HOST or self.resources is None:
            return None
        path = (self.resources / unquote(parts.path).lstrip("/")).resolve()
        if self.resources not in path.parents or not path.is_file():
            return None
        try:
            body = path.read_bytes()
        except OSError:
            return None
        return body, mimetypes.guess_type(path.name)[0] or "application/octet-stream"
