"""A disk that is full when ``bucle serve`` stops: one line, no traceback, no row lost.

The server's last act is to move the buffered predictions into Parquet. When the partitions'
disk has no room, the rows must stay in ``buffer.db`` (they leave it only in the transaction
that commits the move) and the server must say so in one line, with what to do. The Parquet
directory here is a real 64 KiB tmpfs filled to the last byte (mounting needs root: the test
is skipped, saying why, where it cannot mount).
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framework.serving.inference_log import BUFFER, PARTITIONS, read_inference_log
from tests.framework.serving.conftest import promote


@pytest.fixture
def full_partitions(project_copy: Path) -> Iterator[Path]:
    """``<state>/inference/predictions`` on a 64 KiB tmpfs, unmounted after the test."""
    mount = project_copy / ".bucle" / "inference" / PARTITIONS
    mount.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def fill(mount: Path) -> Path:
    """Write zeros into ``mount`` until the disk refuses another byte."""
    filler = mount / "filler"
    try:
        with open(filler, "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass
    return filler


def buffered(state: Path) -> int:
    with sqlite3.connect(state / "inference" / BUFFER) as db:
        return db.execute("SELECT COUNT(*) FROM buffer").fetchone()[0]


def test_disk_full_at_shutdown_is_one_line_and_keeps_every_row(
    project_copy: Path,
    full_partitions: Path,
    start_server: Any,
    records: list[dict[str, Any]],
) -> None:
    promote(project_copy, 1)
    # No periodic flush: the rows are still buffered when the server stops.
    server = start_server(project_copy, "serve.flush_seconds=3600")
    reply = server.post("/predict", {"records": records[:20]})
    assert reply.status == 200, reply.text
    request_ids = {answer["request_id"] for answer in reply.json["predictions"]}
    filler = fill(full_partitions)

    server.stop()

    log = server.log
    assert "Traceback" not in log, log
    state = project_copy / ".bucle"
    lines = [line for line in log.splitlines() if BUFFER in line]
    assert len(lines) == 1, log
    line = lines[0]
    assert str(state / "inference") in line, line
    assert "no space left" in line.lower() and "free space" in line, line
    assert "20 predictions" in line, line
    assert buffered(state) == 20
    assert not list(full_partitions.glob("date=*/hour=*/*.parquet"))

    filler.unlink()
    start_server(project_copy, "serve.flush_seconds=3600").stop()  # the next start flushes

    assert buffered(state) == 0
    log_rows = read_inference_log(state)
    assert len(log_rows) == 20
    assert set(log_rows["request_id"]) == request_ids
    assert list(full_partitions.glob("date=*/hour=*/part-*.parquet"))
