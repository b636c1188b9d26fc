"""The audit's files, on a real disk: a file target rotated by size loses no line (also
with two writers, as two worker processes would be), and the journal cuts a torn record
off its tail when it is opened again."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from pathlib import Path

from iamgw.ops.audit import encode
from iamgw.ops.audit_journal import GroupCommit, Journal
from iamgw.ops.audit_targets import FileTarget


def record(writer: str, n: int, size: int) -> bytes:
    return encode({"writer": writer, "n": n, "pad": "x" * size})


def file_lines(path: Path) -> list[bytes]:
    """Every line of `path` and its rotated files, oldest first; each file whole lines."""
    numbered = [p for p in path.parent.glob(f"{path.name}.*") if p.suffix[1:].isdigit()]
    files = sorted(numbered, key=lambda p: int(p.suffix[1:]), reverse=True) + [path]
    lines: list[bytes] = []
    for file in files:
        data = file.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{file.name} ends in a partial line"
        lines += data.splitlines(keepends=True)
    return lines


def test_rotation_by_size_loses_no_line(tmp_path: Path) -> None:
    target = FileTarget(tmp_path / "audit.log", max_bytes=8192, keep=1000)
    rng = random.Random(13)
    sent: list[bytes] = []

    async def write() -> None:
        for batch in range(400):
            lines = [
                record("one", len(sent) + i, rng.randint(20, 900)) for i in range(rng.randint(1, 6))
            ]
            await target.send(lines)
            sent.extend(lines)
            if batch % 50 == 0:
                target.sync()
        await target.aclose()

    asyncio.run(write())
    assert file_lines(tmp_path / "audit.log") == sent
    rotated = list(tmp_path.glob("audit.log.*[0-9]"))
    assert len(rotated) > 20
    # A file grows beyond the size only by a batch that alone is larger.
    assert all(p.stat().st_size <= 8192 + 6 * 1000 for p in rotated)


def test_rotation_keeps_the_newest_files_only(tmp_path: Path) -> None:
    target = FileTarget(tmp_path / "audit.log", max_bytes=2048, keep=3)

    async def write() -> None:
        for n in range(200):
            await target.send([record("one", n, 200)])

    asyncio.run(write())
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["audit.log", "audit.log.1", "audit.log.2", "audit.log.3"]
    numbers = [json.loads(line)["n"] for line in file_lines(tmp_path / "audit.log")]
    assert numbers == list(range(numbers[0], 200))  # the newest, none missing among them


def test_two_writers_share_a_rotated_file_without_losing_a_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    sent: dict[str, list[bytes]] = {"a": [], "b": []}

    def writer(name: str) -> None:
        target = FileTarget(path, max_bytes=16384, keep=10_000)  # its own descriptor
        rng = random.Random(name)

        async def write() -> None:
            for _ in range(300):
                lines = [
                    record(name, len(sent[name]) + i, rng.randint(20, 600))
                    for i in range(rng.randint(1, 4))
                ]
                await target.send(lines)
                sent[name].extend(lines)
            await target.aclose()

        asyncio.run(write())

    threads = [threading.Thread(target=writer, args=(name,)) for name in sent]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = file_lines(path)
    assert sorted(lines) == sorted(sent["a"] + sent["b"])
    for name, mine in sent.items():  # each writer's lines in its own order
        assert [line for line in lines if json.loads(line)["writer"] == name] == mine


def test_the_journal_cuts_a_torn_record_off_its_tail(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=4096)
    written = [record("j", n, 300) for n in range(40)]  # several segments
    for line in written:
        journal.append(line)
    head = journal.head
    journal.close()
    last = max(tmp_path.glob("*.log"))
    with last.open("ab") as fh:  # a write the crash cut short, then zeros of a power loss
        fh.write(b'{"id":"0123","writer":"torn"')
        fh.write(b"\0" * 100 + b"\n")
    again = Journal(tmp_path, segment_bytes=4096)
    assert again.head == head and last.stat().st_size == head - int(last.stem)
    read, position = [], 0
    while position < again.head:
        lines, position = again.read(position, 1000, 3)
        read += lines
    assert read == written
    # Collected below a cursor: the segments before it go, the records after it stay.
    again.collect(len(b"".join(written[:30])))
    assert int(min(tmp_path.glob("*.log")).stem) > 0
    kept, position = [], 0  # from before the oldest segment kept: read from there on
    while position < again.head:
        lines, position = again.read(position, 1 << 20, 100)
        kept += lines
    assert 10 <= len(kept) < 40 and kept == written[len(written) - len(kept) :]


def test_group_commit_writes_every_record_once_in_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=1 << 20)
    heads: list[int] = []

    async def submit_all() -> None:
        commit = GroupCommit(journal, asyncio.get_running_loop(), heads.append)
        commit.start()
        lines = [record("g", n, 100) for n in range(500)]
        await asyncio.gather(*(commit.submit(line) for line in lines))
        commit.close()
        assert (tmp_path / f"{0:020d}.log").read_bytes() == b"".join(lines)
        assert commit.records == 500 and heads[-1] == journal.head

    asyncio.run(submit_all())


def test_a_record_is_one_line_with_its_id_first_and_no_secret_named_field() -> None:
    line = encode(
        {"a": "line\nbreak", "secret_key": "s", "session_token": "t", "access_key": "AKIA"}
    )
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    parsed = json.loads(line)
    assert list(parsed)[0] == "id" and len(parsed["id"]) == 32
    assert parsed["a"] == "line\nbreak" and parsed["access_key"] == "AKIA"
    assert "secret_key" not in parsed and "session_token" not in parsed
