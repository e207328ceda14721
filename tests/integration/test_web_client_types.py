"""The web client's modules type-check: Debian's TypeScript (node-typescript) runs over the
JSDoc of Sources/Signaling/Web/*.js with its jsconfig.json (strict, no emit), so that the types
the modules declare stay true as they change. No server, no browser."""

from __future__ import annotations

import shutil
import subprocess

from browser import WEB_ROOT, skip_or_fail


def test_web_client_modules_type_check() -> None:
    tsc = shutil.which("tsc")
    if tsc is None:
        skip_or_fail("tsc is not installed (apt install node-typescript)")
    done = subprocess.run([tsc, "-p", str(WEB_ROOT / "jsconfig.json")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"tsc found type errors in the web client:\n{done.stdout}{done.stderr}"
