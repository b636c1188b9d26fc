"""The TLS keys of the settings: a bad value stops startup with one line naming the key,
never the value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from iamgw import cli
from iamgw.config import ConfigError, load_settings
from tests.tls.conftest import Pki

UPSTREAM = {
    "IAMGW_UPSTREAM_ACCESS_KEY": "node-key",
    "IAMGW_UPSTREAM_SECRET_KEY": "node-secret-key",
}


def _load(**env: str):
    return load_settings(None, environ={f"IAMGW_{k.upper()}": v for k, v in env.items()})


def _error(**env: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(**env)
    assert "\n" not in str(info.value)
    return info.value


def test_trusted_proxies_take_cidrs_and_addresses() -> None:
    settings = _load(server_trusted_proxies="10.0.0.0/8, 192.168.1.7, 2001:db8::/32")
    assert [str(n) for n in settings.server.trusted_networks] == [
        "10.0.0.0/8",
        "192.168.1.7/32",
        "2001:db8::/32",
    ]
    assert _load().server.trusted_networks == ()


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "10.0.0.1/8", "proxy.internal", "", "10.0.0.0/8/1"])
def test_a_bad_cidr_names_the_key(bad: str) -> None:
    error = _error(server_trusted_proxies=f'["10.0.0.0/8", "{bad}"]')
    assert error.key == "server.trusted_proxies[1]"
    assert bad not in str(error) or bad == ""


def test_a_server_pair_that_does_not_load(pki: Pki, tmp_path: Path) -> None:
    one, other = pki.server_cert("one"), pki.server_cert("other")
    assert _load(server_tls_cert=str(one.cert), server_tls_key=str(one.key)).server.tls_cert
    error = _error(server_tls_cert=str(one.cert), server_tls_key=str(other.key))
    assert error.key == "server.tls_cert" and "do not load" in str(error)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    assert _error(server_tls_cert=str(garbage), server_tls_key=str(one.key)).key == (
        "server.tls_cert"
    )
    assert _error(server_tls_cert=str(one.cert)).key == "server.tls_cert"  # no key
    missing = str(tmp_path / "missing.pem")
    assert _error(server_tls_cert=missing, server_tls_key=str(one.key)).key == "server.tls_cert"


def test_an_encrypted_key_is_refused_not_prompted_for(pki: Pki, tmp_path: Path) -> None:
    one = pki.server_cert("encrypted")
    key = serialization.load_pem_private_key(one.key.read_bytes(), None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    error = _error(server_tls_cert=str(one.cert), server_tls_key=str(locked))
    assert error.key == "server.tls_cert"


def test_client_ca_needs_https_and_a_ca(pki: Pki, tmp_path: Path) -> None:
    one = pki.server_cert("client-ca")
    tls = {"server_tls_cert": str(one.cert), "server_tls_key": str(one.key)}
    settings = _load(**tls, server_tls_client_ca=str(pki.client_ca_file))
    assert settings.server.tls_client_ca == str(pki.client_ca_file)
    assert _error(server_tls_client_ca=str(pki.client_ca_file)).key == "server.tls_client_ca"
    assert _error(**tls, server_tls_client_ca=str(one.key)).key == "server.tls_client_ca"
    missing = str(tmp_path / "none.pem")
    assert _error(**tls, server_tls_client_ca=missing).key == "server.tls_client_ca"


def test_upstream_tls_keys(pki: Pki, tmp_path: Path) -> None:
    cert = pki.client_cert("gateway")
    https = {"upstream_endpoint": "https://node.internal:9000", **_lower(UPSTREAM)}
    settings = _load(
        **https,
        upstream_ca_file=str(pki.server_ca_file),
        upstream_client_cert=str(cert.cert),
        upstream_client_key=str(cert.key),
    )
    assert settings.upstream[0].client_cert == str(cert.cert)
    plain = {**https, "upstream_endpoint": "http://node.internal:9000"}
    assert _error(**plain, upstream_ca_file=str(pki.server_ca_file)).key == "upstream[0].ca_file"
    error = _error(**https, upstream_client_cert=str(cert.cert))
    assert error.key == "upstream[0].client_cert"
    other = pki.client_cert("other")
    error = _error(**https, upstream_client_cert=str(cert.cert), upstream_client_key=str(other.key))
    assert error.key == "upstream[0].client_cert"
    assert _error(**https, upstream_ca_file=str(cert.key)).key == "upstream[0].ca_file"
    missing = str(tmp_path / "none.pem")
    assert _error(**https, upstream_ca_file=missing).key == "upstream[0].ca_file"


def test_serve_stops_with_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    for name in [n for n in os.environ if n.startswith("IAMGW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IAMGW_SERVER_TRUSTED_PROXIES", "10.0.0.0/8,not-a-cidr")
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", str(tmp_path))
    assert cli.main(["serve"]) == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "server.trusted_proxies[1]" in err and "not-a-cidr" not in err


def _lower(env: dict[str, str]) -> dict[str, str]:
    return {k.removeprefix("IAMGW_").lower(): v for k, v in env.items()}
