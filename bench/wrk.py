"""Load from `wrk` (Debian package `wrk`): a C client, so the client's own cost does not
hide the server's. A signed S3 request may be sent again and again: SigV4 accepts a
request as long as it is inside the 15-minute window, so one signature serves a run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

WRK = shutil.which("wrk")
_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
wrk.headers = {{}}
{headers}
"""


def available() -> bool:
    return WRK is not None


def rate(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    connections: int = 16,
    seconds: float = 5.0,
) -> float:
    """Requests/s that got a 2xx answer (a run with any other answer is refused)."""
    assert WRK is not None, "install wrk: apt-get install wrk"
    # wrk sets Content-Length from the body itself; a second one would be refused.
    headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-length"}
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    script = _SCRIPT.format(
        method=json.dumps(method), body=json.dumps(body.decode("latin-1")), headers=lines
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        run = subprocess.run(
            [WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", fh.name, url],
            capture_output=True,
            text=True,
        )
    finally:
        Path(fh.name).unlink()
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed: {run.stderr or run.stdout}")
    out = run.stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk got error answers from {url}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(match.group(1))
