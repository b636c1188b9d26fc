"""Packaging and first run (issue 13): a wheel built from pyproject.toml carries what the
gateway loads at run time (canned policies, console templates and static files,
migrations) and works installed on its own; `iamgw --version`; the embedded default's
first start hands out root credentials the aws cli takes, and keeps its audit file in
its data directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.timeout(300)


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=240, **kwargs
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel .` builds, from a copy of the tree (no build/ left in it)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("iamgw", "policies"):
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-q", "-w", out)
    [built] = out.glob("iamgw-*.whl")
    return built


def test_wheel_carries_policies_templates_static_files_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "iamgw"
    wanted = {f"iamgw/policies/{p.name}" for p in (ROOT / "policies").glob("*.json")}
    assert wanted, "no canned policy in policies/"
    for folder in ("console/templates", "console/static", "store/migrations/versions"):
        files = [p for p in (package / folder).iterdir() if p.is_file() and p.suffix != ".pyc"]
        assert files, folder
        wanted |= {f"iamgw/{folder}/{p.name}" for p in files}
    wanted |= {"iamgw/policy/model.conf", "iamgw/store/migrations/env.py"}
    assert wanted - names == set()
    assert not [n for n in names if n.startswith("policies/")]  # inside the package only


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the wheel; its dependencies come from this
    environment's site-packages (a path only: its .pth files, among them the editable
    install of the checkout, are not read)."""
    venv = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    site = Path(purelib.stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel)
    return venv


def test_installed_wheel_checks_and_loads_its_canned_policies(
    installed: Path, tmp_path: Path
) -> None:
    iamgw = installed / "bin" / "iamgw"
    version = run(iamgw, "--version", cwd=tmp_path).stdout.strip()
    assert re.fullmatch(r"iamgw \d+\.\d+\.\d+\S*", version), version
    script = """
import json, sys
from pathlib import Path
import iamgw
from iamgw.iam import load_canned_policies
from iamgw.iam.canned import canned_policy_dir
from iamgw.store import MasterKey, Repository
repo = Repository.open(f"sqlite:///{Path.cwd() / 'store.db'}", MasterKey(b"k" * 32), "0" * 12)
outcomes = load_canned_policies(repo)
repo.close()
package = Path(iamgw.__file__).parent
print(json.dumps({"package": str(package), "policies": str(canned_policy_dir()),
                  "outcomes": outcomes,
                  "template": (package / "console/templates/base.html").is_file()}))
"""
    found = json.loads(run(installed / "bin" / "python", "-c", script, cwd=tmp_path).stdout)
    package = Path(found["package"])
    assert package.is_relative_to(installed), "imported the checkout, not the wheel"
    assert Path(found["policies"]) == package / "policies"
    names = {p.stem for p in (ROOT / "policies").glob("*.json")}
    assert found["outcomes"] == dict.fromkeys(sorted(names), "created")
    assert found["template"]
    policies = sorted((package / "policies").glob("*.json"))
    checked = run(iamgw, "policy", "check", *policies, cwd=tmp_path)
    assert checked.returncode == 0


# -- the first run of the embedded default -----------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def first_start(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str], subprocess.Popen]]:
    """`iamgw serve` with nothing configured but its address and a data directory away
    from the working directory; yields (url, data_dir, env, process)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "state" / "iamgw"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IAMGW_", "AWS_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env['PATH']}",
        HOME=str(tmp_path),
        IAMGW_SERVER_ADDRESS=f"127.0.0.1:{port}",
        IAMGW_SERVER_PUBLIC_URL=url,
        IAMGW_SERVER_DATA_DIR=str(data),
    )
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "iamgw.cli", "serve"],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def ready() -> bool:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        try:
            return httpx.get(url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, 90, interval=0.1, what="the gateway is ready")
        yield url, data, env, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=60)


def aws_env(env: dict[str, str], home: Path, **extra: str) -> dict[str, str]:
    """No configuration of the machine's: only what the test gives the aws cli."""
    return {
        "PATH": env["PATH"],
        "HOME": str(home),
        "IAMGW_SERVER_DATA_DIR": env["IAMGW_SERVER_DATA_DIR"],
        "IAMGW_SERVER_PUBLIC_URL": env["IAMGW_SERVER_PUBLIC_URL"],
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        **extra,
    }


def test_first_start_hands_out_root_credentials_the_aws_cli_takes(
    first_start, tmp_path: Path
) -> None:
    url, data, env, proc = first_start
    aws = str(BIN / "aws")
    credentials = data / "root-credentials"
    assert credentials.stat().st_mode & 0o777 == 0o600
    text = credentials.read_text()
    assert "[iamgw]\naws_access_key_id = AKIA" in text
    access_key = re.search(r"aws_access_key_id = (\S+)", text).group(1)

    # The credentials file's profile, as the banner shows it.
    profile = aws_env(env, tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(credentials))
    endpoint = ["--region", "us-east-1", "--endpoint-url", url]
    run(aws, "--profile", "iamgw", *endpoint, "s3", "mb", "s3://first-run", env=profile)

    # `eval "$(iamgw credentials)"`: keys, endpoint and region for the aws cli.
    stale = aws_env(env, tmp_path, AWS_SESSION_TOKEN="stale", AWS_PROFILE="x")  # unset by it
    exported = run("bash", "-c", 'eval "$(iamgw credentials)" && aws s3 ls', env=stale)
    assert "first-run" in exported.stdout

    # credential_process JSON from `iamgw credentials --format json`.
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile root]\nregion = us-east-1\n"
        f"credential_process = {BIN / 'iamgw'} credentials --format json\n"
    )
    with_process = aws_env(env, tmp_path, AWS_CONFIG_FILE=str(config))
    processed = run(aws, "--profile", "root", "--endpoint-url", url, "s3", "ls", env=with_process)
    assert "first-run" in processed.stdout

    # The audit file is in the data directory, wherever that is; nothing in the cwd.
    audit = data / "audit.log"
    wait_until(
        lambda: audit.is_file() and "first-run" in audit.read_text(),
        30,
        what="the audit records reach the data directory's file",
    )
    assert list((tmp_path / "work").iterdir()) == []

    proc.terminate()
    out, _ = proc.communicate(timeout=60)
    assert access_key in out
    assert 'eval "$(iamgw credentials)"' in out
    assert f"AWS_SHARED_CREDENTIALS_FILE={credentials}" in out and "--profile iamgw" in out
    assert f"--endpoint-url {url}" in out and "iamgw credentials --format json" in out
