"""The live preview page: what it serves, that it stops with the run, and that a real browser shows it updating."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import torch

from styletool.events import Progress
from styletool.preview import PreviewServer

from conftest import IMAGES, shared_file

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def first_events(url: str, count: int, timeout: float = 5) -> list[dict]:
    """The first ``count`` server-sent events of the page's stream."""
    events = []
    with urllib.request.urlopen(url + "events", timeout=timeout) as stream:
        for line in stream:
            if line.startswith(b"data: "):
                events.append(json.loads(line[6:]))
                if len(events) == count:
                    break
    return events


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_page_serves_picture_readout_and_curves_and_stops_with_the_run():
    with PreviewServer(title="unit") as page:
        assert page.url.startswith("http://127.0.0.1:")
        status, kind, body = get(page.url)
        assert status == 200 and kind.startswith("text/html") and b"EventSource" in body
        assert get(page.url + "image.png")[0] == 404  # nothing to show yet

        page.update(
            Progress(
                stage="scale 1/2",
                step=1,
                total=10,
                losses={"content": 2.0, "style": 5.0},
                preview=torch.rand(1, 3, 24, 32),
            )
        )
        page.update(Progress(stage="scale 1/2", step=2, total=10, losses={"content": 1.5, "style": 3.0}))
        state = json.loads(get(page.url + "state")[2])
        assert state["step"] == 2 and state["losses"] == {"content": 1.5, "style": 3.0} and state["image"] == 1
        assert [point["losses"]["style"] for point in state["points"]] == [5.0, 3.0]
        status, kind, png = get(page.url + "image.png")
        assert status == 200 and kind == "image/png" and png.startswith(b"\x89PNG")

        # A page that connects late still gets every loss point in its first message.
        event = first_events(page.url, 1)[0]
        assert len(event["points"]) == 2 and event["done"] is False
        url = page.url
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def test_an_open_event_stream_sees_updates_and_the_end_of_the_run():
    import threading

    with PreviewServer(title="unit") as page:
        received = []
        reader = threading.Thread(target=lambda: received.extend(first_events(page.url, 10, timeout=10)))
        reader.start()
        time.sleep(0.3)
        for step in range(1, 4):
            page.update(Progress(stage="", step=step, total=3, losses={"style": 10.0 / step}))
            time.sleep(0.1)
    reader.join(timeout=10)
    assert received[-1]["done"] is True
    points = [p["losses"]["style"] for event in received for p in event["points"]]
    assert points == [10.0, 5.0, 10.0 / 3]  # each point once, in order


def test_port_and_host_need_preview_and_a_taken_port_is_a_one_line_error(cli, tmp_path):
    photo = shared_file("images", "content", "tubingen.jpg")
    result = cli("stylize", str(photo), "--style", str(photo), "-o", str(tmp_path / "o.png"), "--port", "8000")
    assert result.code == 2 and "add --preview" in result.err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(
            "stylize",
            str(photo),
            "--style",
            str(photo),
            "-o",
            str(tmp_path / "o.png"),
            "--size",
            "32",
            "--iterations",
            "2",
            "--preview",
            "--port",
            str(port),
        )
    assert result.code == 2 and f"127.0.0.1:{port}" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "o.png").exists()


def test_train_preview_shows_the_networks_picture(tmp_path):
    """A short training run with --preview: the page has the network's picture of a photo and the loss points."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("tubingen", "golden_gate"):
        shutil.copy(shared_file("images", "content", f"{name}.jpg"), photos)
    port = free_port()
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "styletool",
            "train",
            "--method",
            "johnson",
            "--content-dir",
            str(photos),
            "--style",
            str(IMAGES / "style" / "the_scream.jpg"),
            "-o",
            str(tmp_path / "m.safetensors"),
            "--steps",
            "400",
            "--image-size",
            "32",
            "--batch-size",
            "2",
            "--workers",
            "0",
            "--checkpoint-every",
            "0",
            "--preview",
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        state = _wait_for(lambda: _state_with_picture(url), timeout=120)
        assert state["title"].startswith("train johnson") and state["points"]
        assert get(url + "image.png")[2].startswith(b"\x89PNG")
    finally:
        run.terminate()  # Ctrl-C-like: the run saves a checkpoint and stops, and the page with it
        run.wait(timeout=60)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def _state_with_picture(url: str) -> dict | None:
    try:
        state = json.loads(get(url + "state")[2])
    except OSError:
        return None
    return state if state["image"] and state["points"] else None


def _wait_for(probe, *, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them; apt-get install chromium chromium-driver)",
)
def test_headless_chromium_shows_the_picture_and_the_losses_updating(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (in the dev extra)")
    from selenium.webdriver.chrome.service import Service

    photo = shared_file("images", "content", "tubingen.jpg")
    port = free_port()
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "styletool",
            "stylize",
            str(photo),
            "--style",
            str(IMAGES / "style" / "starry_night.jpg"),
            "-o",
            str(tmp_path / "out.png"),
            "--size",
            "64",
            "--scales",
            "1",
            "--iterations",
            "300",
            "--preview",
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(lambda: _reachable(url), timeout=60)
        browser.get(url)

        def seen():
            return browser.execute_script(
                "const img = document.getElementById('image');"
                "return {updates: Number(document.body.dataset.updates || 0), readout: document.getElementById('readout').textContent,"
                " src: img.getAttribute('src') || '', loaded: img.complete && img.naturalWidth > 0,"
                " lines: document.querySelectorAll('#curves polyline').length, done: document.body.dataset.done || ''};"
            )

        first = _wait_for(
            lambda: (lambda s: s if s["loaded"] and "style=" in s["readout"] else None)(seen()), timeout=60
        )
        later = _wait_for(
            lambda: (
                lambda s: s if s["src"] != first["src"] and s["readout"] != first["readout"] and s["loaded"] else None
            )(seen()),
            timeout=60,
        )
        assert later["updates"] > first["updates"] and later["lines"] >= 3  # total, content, style
        assert browser.execute_script("return document.getElementById('image').naturalWidth") == 64
        run.wait(timeout=300)
        assert run.returncode == 0, run.stderr.read()
        final = _wait_for(lambda: (lambda s: s if s["done"] == "yes" else None)(seen()), timeout=30)
        assert "finished" in browser.find_element("id", "status").text
        assert final["loaded"]
    finally:
        browser.quit()
        if run.poll() is None:
            run.kill()
    assert (tmp_path / "out.png").is_file()


def _reachable(url: str) -> bool:
    try:
        return get(url)[0] == 200
    except OSError:
        return False
