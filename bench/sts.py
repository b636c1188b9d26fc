"""STS: AssumeRoleWithWebIdentity calls/s, and S3 requests/s by temporary vs IAM user keys.

    .venv/bin/python bench/sts.py [--seconds 5] [--concurrency 32]

Starts the OpenID provider peer (keycloak-realm/realm.json), a SeaweedFS node,
and `iamgw serve` with 1 and then 2 uvicorn workers. One real ID token (alice,
policy `readwrite`) is exchanged again and again (the provider's keys are cached
after the first call); then the same 1 KiB GET is signed with the temporary
credentials and with an IAM user's access key. The load comes from `wrk` (a C
client; `apt-get install wrk`). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import xml.etree.ElementTree as ET  # noqa: S405 - our own gateway's answers
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import wrk  # noqa: E402
from bench.proxy import Target, free_port, gateway_env, serve  # noqa: E402
from iamgw.config import load_settings  # noqa: E402
from iamgw.iam.canned import load_canned_policies  # noqa: E402
from iamgw.s3.embedded import start_seaweedfs  # noqa: E402
from iamgw.sigv4 import Credentials  # noqa: E402
from iamgw.store import MasterKey, Repository  # noqa: E402
from tests.peers import start_oidc_provider  # noqa: E402

NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
READWRITE = "arn:aws:iam::000000000000:policy/readwrite"


def oidc_env(node, data_dir: Path, issuer: str, port: int) -> dict[str, str]:
    return gateway_env(
        node,
        data_dir,
        port,
        IAMGW_OIDC_0_NAME="keycloak",
        IAMGW_OIDC_0_ISSUER=issuer,
        IAMGW_OIDC_0_CLIENT_ID="iamgw",
    )


async def assume(client: httpx.AsyncClient, url: str, token: str) -> dict[str, str]:
    form = {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": "arn:aws:iam::000000000000:role/claims",
        "RoleSessionName": "bench",
        "WebIdentityToken": token,
    }
    response = await client.post(url + "/", data=form)
    if response.status_code != 200:
        raise RuntimeError(f"AssumeRoleWithWebIdentity: {response.status_code} {response.text}")
    creds = ET.fromstring(response.text).find(f".//{NS}Credentials")  # noqa: S314
    assert creds is not None
    return {c.tag.removeprefix(NS): c.text or "" for c in creds}


async def measure(url: str, token: str, user_keys: tuple[str, str], args) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=30) as client:
        creds = await assume(client, url, token)  # first call: discovery and JWKS fetched
    form = urlencode(
        {
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "RoleArn": "arn:aws:iam::000000000000:role/claims",
            "RoleSessionName": "bench",
            "WebIdentityToken": token,
        }
    ).encode()
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    temporary = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    user = Credentials(*user_keys)
    results = {}
    for name, credentials in (("temporary", temporary), ("iam-user", user)):
        target = Target(name, url, credentials.access_key, credentials.secret_key)
        target.credentials = credentials
        get_url, headers = target.signed("GET", "/bench/object")
        results[name] = statistics.median(
            [wrk.rate(get_url, "GET", headers, seconds=args.seconds / 3) for _ in range(3)]
        )
    results["assume"] = statistics.median(
        [
            wrk.rate(url + "/", "POST", form_type, form, args.concurrency, args.seconds / 3)
            for _ in range(3)
        ]
    )
    return results


async def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="iamgw-bench-sts-"))
    provider = start_oidc_provider(work / "oidc")
    node = start_seaweedfs(work / "node")
    rows = []
    try:
        token = provider.token_for("alice")["id_token"]
        direct = Target("direct", node.endpoint, node.access_key, node.secret_key)
        await direct.request("PUT", "/bench")
        await direct.request("PUT", "/bench/object", b"x" * 1024)
        data = work / "gateway"
        env = oidc_env(node, data, provider.issuer, free_port())
        settings = load_settings(None, environ=env)
        repo = Repository.open(
            settings.store_url,
            MasterKey.load_or_create(data / "master.key"),
            settings.server.account_id,
        )
        load_canned_policies(repo)
        repo.create_user("bench")
        repo.attach_policy("user", "bench", READWRITE)
        row, secret = repo.create_access_key("bench")
        repo.close()
        for workers in (1, 2):
            port = free_port()
            proc, _ = serve(oidc_env(node, data, provider.issuer, port), workers)
            try:
                url = f"http://127.0.0.1:{port}"
                rows.append((workers, await measure(url, token, (row.access_key_id, secret), args)))
                print(f"  measured {workers} worker(s)", file=sys.stderr)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    finally:
        node.stop()
        provider.stop()
    print(
        f"\n{'workers':>7}  {'AssumeRoleWithWebIdentity/s':>28}  {'S3 GET/s temporary':>19}"
        f"  {'S3 GET/s IAM user':>18}  {'temp/user':>9}"
    )
    print("-" * 90)
    for workers, m in rows:
        print(
            f"{workers:>7}  {m['assume']:>28,.0f}  {m['temporary']:>19,.0f}  "
            f"{m['iam-user']:>18,.0f}  {m['temporary'] / m['iam-user']:>9.0%}"
        )
    print(
        f"\nwrk: {args.concurrency} connections for AssumeRole, 16 for GETs; "
        "wrk, gateway, node and provider share this machine's 2 cores."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--concurrency", type=int, default=32)
    if not wrk.available():
        parser.error("wrk is needed: apt-get install wrk")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
