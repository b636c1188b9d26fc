"""Shared fixtures. The real servers (test peers) come from tests/peers/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iamgw.s3.embedded import SeaweedNode, start_seaweedfs


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedNode]:
    node = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield node
    node.stop()
