"""The access log: a line per request on stdout, logger `iamgw.access`.

`[audit] access_log = true` (the default) gives every request a line, as operators
expect of any HTTP server:

    127.0.0.1 "GET /photos/cat.jpg" 200 3.1ms arn:aws:iam::000000000000:user/alice 9F2C41A0B3D5E617

source address, method and path (never the query), status (followed by `!` when
the answer was cut short), duration, principal and request id. The handler does not
block: lines go through a bounded queue to a thread that writes stdout, so a stdout
nobody reads never stalls the gateway (lines beyond the queue are counted in
`handler.dropped`, not written). An operator's logging configuration may replace the
handler like any other.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading

log = logging.getLogger("iamgw.access")
STDOUT = 1
_UNPRINTABLE = re.compile(r'[^\x21-\x7e]|["\\]')


class StdoutHandler(logging.Handler):
    """Formats on the caller's thread, writes on its own."""

    def __init__(self, size: int = 10_000) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(message)s"))
        self._queue: queue.Queue[str] = queue.Queue(size)
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._queue.put_nowait(self.format(record))
        except queue.Full:
            self.dropped += 1
        except Exception:  # noqa: BLE001 - logging's contract: never raise from emit
            self.handleError(record)

    def _run(self) -> None:
        while True:
            lines = [self._queue.get()]
            while len(lines) < 1000:
                try:
                    lines.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # Straight to the descriptor: a thread blocked on a stdout nobody reads must
            # not hold the lock of Python's stdout buffer, which the interpreter takes
            # (and would wait for, fatally) when the process ends.
            view = memoryview("".join(f"{line}\n" for line in lines).encode(errors="replace"))
            try:
                while view:
                    view = view[os.write(STDOUT, view) :]
            except OSError:
                self.dropped += len(lines)


def install() -> None:
    """Give `iamgw.access` its stdout handler, once per process (several gateways in
    one process share it), unless a logging configuration already gave it one."""
    if log.handlers:
        return
    log.addHandler(StdoutHandler())
    log.propagate = False  # stdout only, not also the root logger's stderr
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)


def line(
    client: str, method: str, raw_path: bytes, status: str, seconds: float, principal: str,
    request_id: str,
) -> None:  # fmt: skip
    if not log.isEnabledFor(logging.INFO):
        return
    path = raw_path.split(b"?", 1)[0].decode("latin-1")
    log.info(
        '%s "%s %s" %s %.1fms %s %s',
        printable(client),
        printable(method),
        printable(path),
        status,
        seconds * 1000,
        printable(principal),
        request_id or "-",
    )


def printable(text: str) -> str:
    """No quote, backslash, space or control character of a client's reaches the line
    as is: a line stays one line that reads one way."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text) or "-"
