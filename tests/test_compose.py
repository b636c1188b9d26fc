"""compose.yaml cannot run here (no container engine): check that it parses, that every
file it mounts exists, and that the gateway's settings in it load."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from iamgw.config import load_settings

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def _with_env_example(value: str) -> str:
    """compose's ${VAR...} substitution, every variable of .env.example given a value."""
    return re.sub(r"\$\{([A-Z_]+)[^}]*\}", lambda m: _sample(m.group(1)), value)


def _sample(name: str) -> str:
    if name == "IAMGW_MASTER_KEY":
        return "0123456789abcdef" * 4  # 32 bytes in hex, as `openssl rand -hex 32` writes
    return f"{name.lower().replace('_', '')}0123456789"


def test_services_an_operator_expects() -> None:
    services = COMPOSE["services"]
    assert {"iamgw", "keycloak", "openldap", "postgres"} <= set(services)
    assert sorted(s for s in services if re.fullmatch(r"rustfs\d+", s)) == [
        f"rustfs{i}" for i in range(1, 5)
    ]
    assert all("rustfs/rustfs" in services[f"rustfs{i}"]["image"] for i in range(1, 5))


def test_every_mounted_file_exists() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").exists()
    assert (ROOT / "keycloak-realm" / "realm.json").exists()


def test_gateway_settings_load_and_name_the_four_nodes() -> None:
    service = COMPOSE["services"]["iamgw"]
    env = {k: _with_env_example(str(v)) for k, v in service["environment"].items()}
    settings = load_settings(ROOT / "deploy" / "iamgw.toml", environ=env)
    assert [u.endpoint for u in settings.upstream] == [
        f"http://rustfs{i}:9000" for i in range(1, 5)
    ]
    assert (
        settings.store_url.startswith("postgresql+psycopg://")
        and "@postgres:" in settings.store_url
    )
    assert settings.oidc[0].issuer == "http://keycloak:8080/realms/storage"
    assert settings.root.access_key == env["IAMGW_ROOT_ACCESS_KEY"]
