"""A second S3 front end on the SeaweedFS peer's filer: two nodes, one namespace,
as the nodes of a RustFS or MinIO cluster serve one namespace."""

from __future__ import annotations

import subprocess
from pathlib import Path

from iamgw.s3.embedded import SeaweedNode, free_port_pair, wait_ready, weed_binary


def start_s3_frontend(node: SeaweedNode, data_dir: Path) -> SeaweedNode:
    port = free_port_pair()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file = data_dir / "weed-s3.log"
    args = [
        weed_binary(), f"-logdir={data_dir}", "s3", f"-filer=127.0.0.1:{node.ports['filer']}",
        f"-port={port}", f"-port.grpc={port + 10000}", "-ip.bind=127.0.0.1", "-ip=127.0.0.1",
        f"-config={node.data_dir / 's3.json'}", "-port.iceberg=0", "-port.lance=0",
        "-metricsPort=0",
    ]  # fmt: skip
    with log_file.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    second = SeaweedNode(f"http://127.0.0.1:{port}", node.access_key, node.secret_key, process,
                         data_dir, log_file, {"s3": port})  # fmt: skip
    try:
        wait_ready(second, 30)
    except BaseException:
        second.stop()
        raise
    return second
