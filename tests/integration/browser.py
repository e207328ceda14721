"""Real headless Chromium for the browser tests: Debian's chromium + chromedriver through
selenium with the flags WebRTC needs on loopback (see below), waiting helpers, the page's
`window.chorus` hook (state, getStats, events), a static file server for pages on another origin,
and the Socket.IO client fetched from PyPI. Every browser is quit in a finally block."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar
from urllib.parse import quote

import pytest

from conftest import REPO, ChorusServer, artifacts_dir

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WEB_ROOT = REPO / "Sources" / "Signaling" / "Web"
PAGES = Path(__file__).parent / "browser_pages"
# Selenium's own script timeout; every wait below has its own, shorter deadline.
SCRIPT_TIMEOUT = 30

T = TypeVar("T")

CHROME_ARGS = [
    "--headless=new",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    # Measured with Debian's Chromium: without this it gathers no 127.0.0.1 candidate ...
    "--allow-loopback-in-peer-connection",
    # ... and without this it hides its addresses behind *.local mDNS names.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    # Three browsers share two cores: no throttling of pages that are not in front.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--mute-audio",
    "--window-size=1100,800",
]


def browser_required() -> bool:
    return bool(os.environ.get("CHORUS_REQUIRE_BROWSER"))


def skip_or_fail(reason: str) -> None:
    """Skip when the browser stack is missing, unless CHORUS_REQUIRE_BROWSER says it must run."""
    if browser_required():
        pytest.fail(f"CHORUS_REQUIRE_BROWSER is set but {reason}", pytrace=False)
    pytest.skip(reason)


def require_browser() -> None:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found (apt install chromium)")
    if not CHROMEDRIVER.exists():
        skip_or_fail(f"{CHROMEDRIVER} not found (apt install chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        skip_or_fail("selenium is not installed (pip install selenium)")


def wait_until(predicate: Callable[[], T], timeout: float, message: str | Callable[[], str], interval: float = 0.2) -> T:
    """Polls until predicate() is truthy and returns it; fails with message (and the last error)."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError:
            raise
        except Exception as error:  # a page still loading, a stats call racing a close
            last_error = error
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            suffix = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"{text} within {timeout}s{suffix}")
        time.sleep(interval)


class ChorusPage:
    """What the tests call on Chorus's page, over any driver that can run a script in it (`js`):
    Chromium through selenium (Browser), Firefox through Marionette (firefox.FirefoxBrowser)."""

    name: str
    # The page's test hook: `window.chorus` on Chorus's page, `window.client` on the Socket.IO page.
    hook_name: str

    def js(self, script: str, *args: Any) -> Any:
        raise NotImplementedError

    def logs_text(self, last: int = 25) -> str:
        raise NotImplementedError

    def hook(self, call: str, *args: Any) -> Any:
        """`window.chorus.<call>(...args)` (or the hook_name object's), awaited; a page error
        becomes an AssertionError."""
        result = self.js(
            "const [hook, name, args] = arguments;"
            "try { return {ok: true, value: await window[hook][name](...args)}; }"
            "catch (e) { return {ok: false, error: String(e && e.stack || e)}; }",
            self.hook_name, call, list(args))
        assert result["ok"], f"{self.name}: {self.hook_name}.{call}{tuple(args)} threw {result['error']}"
        return result["value"]

    def wait_ready(self, timeout: float = 20) -> None:
        wait_until(lambda: self.js("return Boolean(window.chorus && window.chorus.ready && window.chorus.state().connected)"),
                   timeout, lambda: f"{self.name}: page not signed in and connected; {self.logs_text()}")

    def state(self) -> dict[str, Any]:
        return self.js("return window.chorus.state()")

    def stats(self) -> dict[str, Any]:
        return self.js("return await window[arguments[0]].stats()", self.hook_name)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        events = self.js("return window[arguments[0]].events.map(e => ({event: e.event, data: e.data, at: e.at}))",
                         self.hook_name)
        return [e for e in events if name is None or e["event"] == name]

    def wait_event(self, name: str, where: Callable[[dict[str, Any]], bool] = lambda _: True, timeout: float = 15) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((e["data"] for e in self.events(name) if where(e["data"])), None)
        return wait_until(found, timeout, lambda: f"{self.name}: no {name!r} event; got {[e['event'] for e in self.events()]}")



@dataclass
class Browser(ChorusPage):
    """One Chromium with its own profile, driven through selenium."""

    name: str
    driver: Any
    profile: Path
    console: list[dict[str, Any]] = field(default_factory=list)
    # The page's test hook: `window.chorus` on Chorus's page, `window.client` on the Socket.IO page.
    hook_name: str = "chorus"

    # MARK: page access

    def open(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args: Any) -> Any:
        """Runs script in the page; a returned promise is awaited (WebDriver executeScript)."""
        return self.driver.execute_script(script, *args)

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))

    def logs(self) -> list[dict[str, Any]]:
        try:
            self.console.extend(self.driver.get_log("browser"))
        except Exception:
            pass
        return self.console

    def logs_text(self, last: int = 25) -> str:
        lines = [f"{entry.get('level')}: {entry.get('message')}" for entry in self.logs()[-last:]]
        return f"{self.name} console:\n  " + "\n  ".join(lines) if lines else f"{self.name} console: (empty)"

    def quit(self) -> None:
        try:
            self.logs()
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def start_browser(name: str, extra_args: Sequence[str] = ()) -> Browser:
    """`extra_args` go to Chromium after CHROME_ARGS (e.g. a file for its fake microphone)."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix=f"chorus-chromium-{name}-"))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in [*CHROME_ARGS, *extra_args]:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log_path = artifacts_dir() / f"chromedriver-{name}.log"
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(log_path))
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except Exception as error:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"chromium did not start for {name}: {error}", pytrace=False)
    driver.set_script_timeout(SCRIPT_TIMEOUT)
    driver.set_page_load_timeout(SCRIPT_TIMEOUT)
    return Browser(name=name, driver=driver, profile=profile)


@pytest.fixture
def browsers(request: pytest.FixtureRequest) -> Iterator[Callable[..., Browser]]:
    """A factory of browsers; all are quit after the test, with their console printed on failure."""
    opened: list[Browser] = []

    def open_browser(name: str, extra_args: Sequence[str] = ()) -> Browser:
        browser = start_browser(name, extra_args)
        opened.append(browser)
        return browser

    try:
        yield open_browser
    finally:
        for browser in opened:
            text = browser.logs_text(60)
            try:
                browser.quit()
            except Exception as error:  # keep quitting the others
                print(f"quitting {browser.name}: {error!r}")
            (artifacts_dir() / f"browser-console-{browser.name}.txt").write_text(text + "\n")


def tone_wav(path: Path, seconds: float = 4.0, amplitude: int = 12000) -> Path:
    """A 440 Hz mono 48 kHz tone, for `--use-file-for-fake-audio-capture` (Chromium loops
    it): a microphone that is always talking, unlike the fake device's short beeps."""
    import math
    import struct
    import wave

    rate = 48000
    samples = b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / rate)))
                       for i in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples)
    return path


# MARK: the Chorus page


def page_url(server: ChorusServer, token: str, *, relay: bool = False, static: "StaticServer | None" = None,
             origin: str | None = None) -> str:
    """Chorus's own page at / with the token in the fragment (never sent to a server). With a
    static server (development), the page from disk is opened with ?api= pointing at Chorus.
    `origin` reaches the same server another way (a forwarder on the browser's 127.0.0.1)."""
    query = []
    origin = origin or server.base_url
    if static is not None:
        origin = static.base_url
        query.append("api=" + quote(server.base_url, safe=""))
    if relay:
        query.append("relay=1")
    return f"{origin}/" + ("?" + "&".join(query) if query else "") + "#token=" + quote(token, safe="")


def web_dev_server() -> "StaticServer | None":
    """With CHORUS_WEB_FROM_DISK=1 the page is served from Sources/Signaling/Web by a static
    server (for a chorus binary that does not serve it yet); by default Chorus serves it at /."""
    if os.environ.get("CHORUS_WEB_FROM_DISK"):
        return StaticServer(WEB_ROOT)
    return None


def require_page(server: ChorusServer, static: "StaticServer | None") -> None:
    """The page must be what Chorus serves at / (unless developing from disk)."""
    if static is not None:
        return
    import requests

    response = requests.get(server.base_url + "/app.js", timeout=5)
    assert response.status_code == 200 and "window.chorus" in response.text, (
        f"chorus does not serve the web client at /app.js ({response.status_code}); "
        "set CHORUS_WEB_FROM_DISK=1 to test the files from disk against an older binary")


# MARK: a static file server on another origin


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class StaticServer:
    """Serves a directory on 127.0.0.1 (a free port: another origin than Chorus) in a thread."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# MARK: media assertions over window.chorus.stats()


def inbound(stats: dict[str, Any], kind: str, user: str | None = None, live_only: bool = True) -> list[dict[str, Any]]:
    return [s for s in stats["inbound"]
            if s["kind"] == kind and (user is None or s["userId"] == user) and (s["live"] or not live_only)]


def counter_by_user(browser: Browser, kind: str, counter: str) -> dict[str | None, int]:
    """Sum of a counter per sending user over the browser's live inbound streams of a kind."""
    totals: dict[str | None, int] = {}
    for s in inbound(browser.stats(), kind):
        totals[s["userId"]] = totals.get(s["userId"], 0) + int(s[counter] or 0)
    return totals


def wait_flowing(browser: Browser, kind: str, users: list[str], timeout: float = 30, counter: str | None = None) -> None:
    """Waits until the counter (framesDecoded for video, packetsReceived for audio) of each user's
    inbound stream grows between two samples: media is arriving now, not only earlier."""
    counter = counter or ("framesDecoded" if kind == "video" else "packetsReceived")
    baseline = counter_by_user(browser, kind, counter)

    def grown() -> bool:
        now = counter_by_user(browser, kind, counter)
        return all(now.get(u, 0) > baseline.get(u, 0) for u in users)

    wait_until(grown, timeout, lambda: f"{browser.name}: {kind} {counter} not growing for {users} "
               f"(from {baseline} to {counter_by_user(browser, kind, counter)}); "
               f"stats {json.dumps(browser.stats())[:1500]}; {browser.logs_text()}", interval=0.5)


# MARK: the Socket.IO JavaScript client (from the nicegui wheel on PyPI)


def socketio_client_js(directory: Path) -> Path:
    """socket.io.min.js v4.8.1 extracted from the `nicegui` wheel (`pip download`) into directory."""
    target = directory / "socket.io.min.js"
    if target.exists():
        return target
    download = directory / "wheel"
    download.mkdir(exist_ok=True)
    done = subprocess.run(
        ["python3", "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "nicegui", "-d", str(download)],
        capture_output=True, text=True, timeout=300)
    wheels = sorted(download.glob("nicegui-*.whl"))
    if done.returncode != 0 or not wheels:
        skip_or_fail(f"could not download the nicegui wheel for socket.io.min.js: {done.stderr[-500:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        try:
            data = wheel.read("nicegui/static/socket.io.min.js")
        except KeyError:
            skip_or_fail(f"{wheels[-1].name} has no nicegui/static/socket.io.min.js")
    target.write_bytes(data)
    shutil.rmtree(download, ignore_errors=True)
    return target


def record_timing(name: str, value: Any) -> Path:
    """Adds one measurement to artifacts/integration/browser-timings.json."""
    path = artifacts_dir() / "browser-timings.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


# MARK: WHIP and WHEP from a browser


WHIP_CLIENT = PAGES / "whip-client.js"


def install_whip_client(browser: Any) -> None:
    """Installs window.whip (browser_pages/whip-client.js) into the page the browser shows:
    Chorus's own page, so that its WHIP/WHEP requests are same-origin from a secure context."""
    browser.js(WHIP_CLIENT.read_text())


def open_whip_pages(server: ChorusServer, browsers: Callable[..., Any], identity: str, names: Sequence[str]) -> list[Any]:
    """A browser per name on Chorus's own page (a token for any room), window.whip installed."""
    opened = []
    for name in names:
        browser = browsers(name)
        browser.open(page_url(server, server.token(identity, "*", publish=True, subscribe=True)))
        browser.wait_ready()
        install_whip_client(browser)
        opened.append(browser)
    return opened


def whep_video(browser: Any) -> dict[str, Any]:
    """The first WHEP session's inbound video counters (empty before any)."""
    sessions = [s for s in whip_stats(browser) if s["kind"] == "subscribe"]
    return (sessions[0]["inbound"].get("video") or {}) if sessions else {}


def whip_stats(browser: Any) -> list[dict[str, Any]]:
    return browser.js("return await window.whip.stats()")


def wait_whip_flowing(browser: Any, kind: str, timeout: float = 30) -> dict[str, Any]:
    """Waits until the browser's WHEP session decodes `kind` now (its counter grows between two
    samples: framesDecoded for video, packetsReceived for audio); returns the last stats."""
    counter = "framesDecoded" if kind == "video" else "packetsReceived"

    def value() -> int:
        sessions = [s for s in whip_stats(browser) if s["kind"] == "subscribe"]
        return sum(int((s["inbound"].get(kind) or {}).get(counter) or 0) for s in sessions)

    first = wait_until(lambda: value() or None, timeout, lambda: f"{browser.name}: WHEP {kind} never arrived: {whip_stats(browser)}")
    wait_until(lambda: value() > first, timeout, lambda: f"{browser.name}: WHEP {kind} {counter} stuck at {first}: {whip_stats(browser)}")
    return whip_stats(browser)


def metric_value(base_url: str, name: str, labels: str | None = None) -> float:
    """The sum of a Prometheus metric's samples at /metrics (those with `labels`, e.g.
    'reason="oversized"', when given)."""
    import re

    import requests

    text = requests.get(base_url + "/metrics", timeout=10).text
    pattern = rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$"
    return sum(float(value) for found_labels, value in re.findall(pattern, text, re.MULTILINE)
               if labels is None or labels in found_labels)
