"""Real headless Firefox ESR (Debian's `firefox-esr`) for the browser tests, driven through its
built-in Marionette protocol with PyPI's `marionette-driver` (Debian has no geckodriver).

Firefox gathers ICE candidates only on the interface of a default route, never on loopback
(../shared/INTEROP.md), so it runs in a network namespace of the test's own with a veth pair and
a default route (netns.py); its Marionette port is on that namespace's 127.0.0.1, so the client
connects from inside it. `FirefoxBrowser` answers the same calls as browser.Browser (js, hook,
state, stats, events, wait_ready), so the Chromium helpers (wait_flowing, inbound, ...) work on
both. Every Firefox is stopped by PID in a finally block (the netns fixture stops what is left)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from browser import ChorusPage, skip_or_fail
from conftest import artifacts_dir, stop_process
from netns import Namespace, wait_for_port
from ports import free_tcp_port

FIREFOX = Path("/usr/bin/firefox-esr")

# user.js: fake camera and microphone without a prompt, real host addresses in candidates
# (no mDNS names), autoplay, and none of the background services that would reach for the
# network (the namespace has no way out anyway: its default route ends in the server's).
PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.normandy.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.trr.mode": 5,
    "network.proxy.type": 0,
    "browser.region.network.url": "",
    "browser.search.geoip.url": "",
    "services.settings.server": "http://127.0.0.1:9/",
    "remote.prefs.recommended": True,
}


def require_firefox() -> None:
    if not FIREFOX.exists():
        skip_or_fail(f"{FIREFOX} not found (apt install firefox-esr)")
    try:
        import marionette_driver  # noqa: F401
    except ImportError:
        skip_or_fail("marionette-driver is not installed (pip install marionette-driver)")


@dataclass
class FirefoxBrowser(ChorusPage):
    """One Firefox ESR with its own profile in `namespace`, driven over Marionette."""

    name: str
    client: Any
    process: Any
    profile: Path
    namespace: Namespace
    hook_name: str = "chorus"

    def open(self, url: str) -> None:
        self.client.navigate(url)

    def js(self, script: str, *args: Any) -> Any:
        """Runs script in the page itself (no sandbox: `window.chorus` is the page's) as an async
        function body, so that `await` works and a returned promise is awaited, as in Chromium."""
        wrapped = "return (async function() {\n" + script + "\n}).apply(null, arguments);"
        return self.client.execute_script(wrapped, script_args=list(args), new_sandbox=False, sandbox=None)

    def logs_text(self, last: int = 40) -> str:
        path = artifacts_dir() / f"firefox-{self.name}.log"
        try:
            lines = path.read_text(errors="replace").splitlines()[-last:]
        except OSError:
            lines = []
        return f"{self.name} (firefox) output:\n  " + "\n  ".join(lines)

    def quit(self) -> None:
        try:
            try:
                self.client.delete_session()
            except Exception:
                pass
            stop_process(self.process)
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def start_firefox(name: str, namespace: Namespace) -> FirefoxBrowser:
    """Starts Firefox ESR headless inside `namespace` and opens a Marionette session to it."""
    require_firefox()
    from marionette_driver.marionette import Marionette

    profile = Path(tempfile.mkdtemp(prefix=f"chorus-firefox-{name}-"))
    with namespace.entered():
        port = free_tcp_port()
    prefs = {**PREFS, "marionette.port": port}
    (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()))
    log = (artifacts_dir() / f"firefox-{name}.log").open("w")
    env = {**os.environ, "MOZ_HEADLESS": "1", "HOME": str(profile), "MOZ_CRASHREPORTER_DISABLE": "1"}
    process = namespace.popen(
        [str(FIREFOX), "--headless", "--marionette", "--no-remote", "--profile", str(profile), "about:blank"],
        stdout=log, stderr=log, stdin=open(os.devnull), env=env)
    try:
        with namespace.entered():
            wait_for_port(port, timeout=60)
            # The client's socket is made here, inside; it keeps working from anywhere after.
            client = Marionette(host="127.0.0.1", port=port, socket_timeout=60, startup_timeout=60)
            client.start_session()
        client.timeout.script = 30
        client.timeout.page_load = 30
    except Exception as error:
        stop_process(process)
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"firefox did not start for {name}: {error!r}\n{(artifacts_dir() / f'firefox-{name}.log').read_text()[-2000:]}",
                    pytrace=False)
    return FirefoxBrowser(name=name, client=client, process=process, profile=profile, namespace=namespace)


@pytest.fixture
def firefoxes() -> Iterator[Callable[[str, Namespace], FirefoxBrowser]]:
    """A factory of Firefoxes; all are stopped after the test (request it after `netns`)."""
    opened: list[FirefoxBrowser] = []

    def open_firefox(name: str, namespace: Namespace) -> FirefoxBrowser:
        browser = start_firefox(name, namespace)
        opened.append(browser)
        return browser

    try:
        yield open_firefox
    finally:
        for browser in opened:
            try:
                browser.quit()
            except Exception as error:
                print(f"quitting {browser.name}: {error!r}")
