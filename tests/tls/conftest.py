"""The certificates of the TLS tests: a CA for the gateway's certificate (as clients
trust it), a CA for client certificates, each made by the test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.tls.servers import CertFiles, write_ca, write_leaf


@dataclass
class Pki:
    directory: Path
    server_ca: trustme.CA
    server_ca_file: Path
    client_ca: trustme.CA
    client_ca_file: Path

    def server_cert(self, name: str) -> CertFiles:
        """A new certificate for 127.0.0.1 and localhost, of the server CA."""
        return write_leaf(self.server_ca.issue_cert("127.0.0.1", "localhost"), self.directory, name)

    def client_cert(self, common_name: str, ca: trustme.CA | None = None, **kw) -> CertFiles:
        leaf = (ca or self.client_ca).issue_cert(
            f"{common_name.lower()}.clients.example.org", common_name=common_name, **kw
        )
        return write_leaf(leaf, self.directory / "clients", f"{common_name}-{id(leaf)}")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    server_ca, client_ca = trustme.CA(), trustme.CA()
    return Pki(
        directory,
        server_ca,
        write_ca(server_ca, directory / "server-ca.pem"),
        client_ca,
        write_ca(client_ca, directory / "client-ca.pem"),
    )
