"""A live preview page for long runs (`stylize --preview`, `train --preview`).

A small HTTP server from the standard library, in a background thread,
serves one page that shows the current picture and the loss curves. The page
listens to server-sent events (``/events``): each progress event is pushed
as one JSON message, and the picture is fetched again (``/image.png``)
whenever a new one is announced. The server listens on 127.0.0.1 unless told
otherwise and stops when the run ends.

The run's thread only stores references (the latest picture as a tensor,
the losses as numbers); PNG encoding happens in the server's thread when a
browser asks, so a preview costs the run almost nothing.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from styletool.errors import UsageError, describe
from styletool.events import Progress

HISTORY_LIMIT = 2000  # loss points kept for the curves; older ones are thinned out
KEEPALIVE_SECONDS = 10.0


class PreviewServer:
    """Serve the preview page for one run; feed it with :meth:`update`; stop it with :meth:`close`.

    Use as a context manager. ``port`` 0 picks a free port (see :attr:`url`).
    """

    def __init__(self, *, title: str, host: str = "127.0.0.1", port: int = 0):
        self.title = title
        self._changed = threading.Condition()
        self._version = 0  # bumped on every update; event streams wait on it
        self._image_version = 0
        self._image: Any = None  # the latest picture, [1, 3, H, W] or [3, H, W] in [0, 1]
        self._png: tuple[int, bytes] | None = None  # (image version, encoded PNG)
        self._latest: dict[str, Any] = {"stage": "", "step": 0, "total": 0, "losses": {}, "done": False}
        self._history: list[dict[str, Any]] = []
        self._points = 0
        self._closed = False
        self._streams = 0  # open event streams
        try:
            self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        except OSError as exc:
            raise UsageError(f"cannot serve the preview on {host}:{port}: {describe(exc)}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="styletool-preview", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def __enter__(self) -> PreviewServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- fed by the run ------------------------------------------------------
    def update(self, event: Progress) -> None:
        """Take one progress event: its losses join the curves, its picture (if any) replaces the shown one."""
        picture = event.preview if event.preview is not None else event.image
        self.show(picture, stage=event.stage, step=event.step, total=event.total, losses=event.losses)

    def show(
        self,
        picture: Any = None,
        *,
        stage: str | None = None,
        step: int | None = None,
        total: int | None = None,
        losses: dict[str, float] | None = None,
    ) -> None:
        """Replace the picture and/or the progress readout."""
        with self._changed:
            if picture is not None:
                self._image = picture.detach()
                self._image_version += 1
            if stage is not None:
                clean = {name: float(value) for name, value in (losses or {}).items() if math.isfinite(float(value))}
                self._latest = {"stage": stage, "step": step or 0, "total": total or 0, "losses": clean, "done": False}
                if clean:
                    self._points += 1
                    self._history.append({"n": self._points, "stage": stage, "losses": clean})
                    if len(self._history) > HISTORY_LIMIT:
                        self._history = self._history[::2]
            self._version += 1
            self._changed.notify_all()

    def finish(self) -> None:
        """Tell open pages that the run is over (they keep the last picture and curves)."""
        with self._changed:
            self._latest = {**self._latest, "done": True}
            self._version += 1
            self._changed.notify_all()

    def close(self) -> None:
        self.finish()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            # Let open pages receive the final message before the process (and its daemon threads) ends.
            self._changed.wait_for(lambda: self._streams == 0, timeout=2.0)
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    # -- read by the server's threads ---------------------------------------
    def state(self, *, after: int = 0) -> dict[str, Any]:
        """The readout, the picture's version, and the loss points numbered above ``after``."""
        with self._changed:
            points = [point for point in self._history if point["n"] > after]
            return {**self._latest, "title": self.title, "image": self._image_version, "points": points}

    def png(self) -> bytes | None:
        with self._changed:
            version, image = self._image_version, self._image
            if self._png is not None and self._png[0] == version:
                return self._png[1]
        if image is None:
            return None
        data = _encode_png(image)
        with self._changed:
            self._png = (version, data)
        return data

    def stream_opened(self, delta: int) -> None:
        with self._changed:
            self._streams += delta
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> tuple[int, bool]:
        """Block until an update after version ``seen`` (or ``timeout``); return the version and whether closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != seen or self._closed, timeout=timeout)
            return self._version, self._closed


def _encode_png(image: Any) -> bytes:
    from PIL import Image

    pixels = image.float().clamp(0, 1)
    if pixels.dim() == 4:
        pixels = pixels[0]
    array = (pixels * 255).round().to("cpu").byte().permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _page() -> bytes:
    return resources.files("styletool").joinpath("preview.html").read_bytes()


def _handler_for(preview: PreviewServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "styletool-preview"

        def log_message(self, format: str, *args: Any) -> None:  # keep the run's terminal clean
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", _page())
            elif path == "/state":
                self._send(HTTPStatus.OK, "application/json", json.dumps(preview.state()).encode())
            elif path == "/image.png":
                data = preview.png()
                if data is None:
                    self._send(HTTPStatus.NOT_FOUND, "text/plain", b"no picture yet\n")
                else:
                    self._send(HTTPStatus.OK, "image/png", data)
            elif path == "/events":
                self._events()
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

        def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _events(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen, sent = -1, 0  # the version and the last loss point this page has
            preview.stream_opened(+1)
            try:
                while True:
                    version, closed = preview.wait(seen, KEEPALIVE_SECONDS)
                    if version != seen:
                        seen = version
                        state = preview.state(after=sent)
                        if state["points"]:
                            sent = state["points"][-1]["n"]
                        if closed:  # the server goes away with the run: hand over the last picture itself
                            picture = preview.png()
                            state["image_data"] = base64.b64encode(picture).decode() if picture else None
                        self.wfile.write(b"data: " + json.dumps(state).encode() + b"\n\n")
                    else:
                        self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    if closed:
                        return
            except (BrokenPipeError, ConnectionResetError):
                return  # the page was closed
            finally:
                preview.stream_opened(-1)

    return Handler
