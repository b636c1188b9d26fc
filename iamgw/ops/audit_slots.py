"""Which queue directory a worker process writes: a slot, claimed with a file lock.

`iamgw serve --workers N` runs N processes over one `data_dir`. Two processes must
never append to one journal, and a worker that dies (or is killed) and is started
again must find the records its predecessor had not delivered. So each process
claims the lowest free slot `audit-queue/wI` by taking an exclusive `flock` on
`audit-queue/wI.lock` and holds it while it lives: the kernel releases it when the
process ends, however it ends, and the next process to start takes that slot and
its journal. Names depend on nothing that changes between runs (not the pid).

A slot whose owner is gone and that no new process claimed (the gateway restarted
with fewer workers) is an orphan: a running worker locks it, delivers what it holds,
and deletes it (`orphans`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from pathlib import Path

QUEUE_DIR = "audit-queue"
_SLOT = re.compile(r"w(\d+)")


class Slot:
    """A claimed queue directory; the lock is held until `release`."""

    def __init__(self, root: Path, index: int, fd: int) -> None:
        self.root = root
        self.index = index
        self._fd: int | None = fd

    @property
    def name(self) -> str:
        return f"w{self.index}"

    @property
    def directory(self) -> Path:
        return self.root / self.name

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _try_lock(root: Path, index: int) -> Slot | None:
    fd = os.open(root / f"w{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return Slot(root, index, fd)


def claim(data_dir: Path) -> Slot:
    """The lowest free slot of `data_dir`'s audit queue, locked for this process."""
    root = data_dir / QUEUE_DIR
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    index = 0
    while True:
        slot = _try_lock(root, index)
        if slot is not None:
            return slot
        index += 1


def orphans(data_dir: Path, mine: set[int]) -> list[Slot]:
    """Slots with a queue directory that no live process holds, locked for this one."""
    root = data_dir / QUEUE_DIR
    found = []
    with contextlib.suppress(FileNotFoundError):
        for entry in sorted(root.iterdir()):
            match = _SLOT.fullmatch(entry.name)
            if not match or not entry.is_dir() or int(match.group(1)) in mine:
                continue
            slot = _try_lock(root, int(match.group(1)))
            if slot is not None:
                found.append(slot)
    return found
