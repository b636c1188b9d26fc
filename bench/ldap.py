"""LDAP logins: AssumeRoleWithLDAPIdentity through iamgw beside the same directory work
done by python-ldap directly, in one run.

    .venv/bin/python bench/ldap.py [--seconds 6] [--clients 8]

Starts an OpenLDAP `slapd` (the test peer, seeded with alice/bob/carol), a SeaweedFS
node and an `iamgw serve` process (one worker) with `[ldap]` pointing at the slapd.
- iamgw: `--clients` concurrent connections POST AssumeRoleWithLDAPIdentity (an
  unsigned form) with wrk, every answer a 200 with credentials: users in no group (the
  direct loop's work), as many as there are clients, each login the next user's (as
  the direct loop's threads log different users in); carol alone on every connection
  (one name: the throttle lets at most 5 logins of a name run at once, the others
  wait); and alice (groups nested two levels deep: three more searches, whose outcome
  the gateway keeps 5 s). Without wrk, a Python client logs alice, bob and carol in
  turn.
- direct: as many threads, each with its own two python-ldap connections, doing what a
  login needs: the service account's user search, the user's bind on the second
  connection (bound again for every login, as the gateway's pooled bind connections
  are: a new TCP connection per login would be work the gateway does not do), and the
  group search.
Prints logins/s (median of 3 runs each) and the ratio. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

# Run as a script, this file's folder comes first on sys.path, and its name would hide
# python-ldap's `ldap` package: the project's root goes there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import httpx  # noqa: E402
import ldap  # noqa: E402
from ldap.filter import escape_filter_chars  # noqa: E402

from bench import wrk  # noqa: E402
from bench.proxy import free_port, gateway_env, serve  # noqa: E402
from iamgw.s3 import start_seaweedfs  # noqa: E402
from tests.peers import Slapd, start_slapd  # noqa: E402

USERS = ("alice", "bob", "carol")
ROTATING = """
wrk.method = "POST"
wrk.headers["content-type"] = "application/x-www-form-urlencoded"
local bodies = {{{bodies}}}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[n % #bodies + 1])
end
"""


def add_plain_users(slapd: Slapd, count: int) -> tuple[str, ...]:
    """`count` users in no group, as carol (`plain-0`, ...); their names."""
    names = tuple(f"plain-{i}" for i in range(count))
    for name in names:
        slapd.users[name] = f"{name}-password"
    slapd.add(
        "\n".join(
            f"dn: {slapd.user_dn(n)}\nobjectClass: inetOrgPerson\nuid: {n}\ncn: {n}\n"
            f"sn: {n}\nuserPassword: {slapd.users[n]}\n"
            for n in names
        )
    )
    return names


def ldap_env(slapd: Slapd, users: tuple[str, ...] = USERS) -> dict[str, str]:
    everyone = {slapd.people_dn: ["readonly"]}
    return {
        "IAMGW_LDAP_URL": slapd.url,
        "IAMGW_LDAP_BIND_DN": slapd.bind_dn,
        "IAMGW_LDAP_BIND_PASSWORD": slapd.bind_password,
        "IAMGW_LDAP_USER_SEARCH_BASE": slapd.people_dn,
        "IAMGW_LDAP_GROUP_SEARCH_BASE": slapd.groups_dn,
        "IAMGW_LDAP_GROUP_POLICIES": json.dumps(
            {
                f"cn=s3-readers,{slapd.groups_dn}": ["readonly"],
                f"cn=s3-writers,{slapd.groups_dn}": ["readwrite"],
            }  # fmt: skip
        ),
        "IAMGW_LDAP_USER_POLICIES": json.dumps(
            {slapd.user_dn(u): everyone[slapd.people_dn] for u in users}
        ),
    }


def form(slapd: Slapd, user: str) -> dict[str, str]:
    return {
        "Action": "AssumeRoleWithLDAPIdentity",
        "Version": "2011-06-15",
        "LDAPUsername": user,
        "LDAPPassword": slapd.users[user],
    }


def gateway_rate_wrk(
    url: str, slapd: Slapd, clients: int, seconds: float, user: str = "carol"
) -> float:
    """wrk (a C client, so the client's own cost does not hide the gateway's): the same
    login again and again; every answer must be 2xx. carol is in no group: her login is
    the direct loop's work (search, bind, group search); alice's groups are nested two
    levels, which costs three more searches."""
    body = urlencode(form(slapd, user)).encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return wrk.rate(url + "/", "POST", headers, body, clients, seconds)


def gateway_rate_users(
    url: str, slapd: Slapd, clients: int, seconds: float, users: tuple[str, ...]
) -> float:
    """wrk, each request the login of the next of `users`; every answer must be 2xx."""
    assert wrk.WRK is not None
    bodies = ", ".join(json.dumps(urlencode(form(slapd, u))) for u in users)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(ROTATING.format(bodies=bodies))
    try:
        duration = f"-d{max(1, round(seconds))}s"
        run = subprocess.run(
            [wrk.WRK, "-t1", f"-c{clients}", duration, "-s", fh.name, url + "/"],
            capture_output=True,
            text=True,
        )
    finally:
        Path(fh.name).unlink()
    if run.returncode != 0 or "Non-2xx" in run.stdout:
        raise RuntimeError(f"wrk failed or got error answers:\n{run.stdout}{run.stderr}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{run.stdout}")
    return float(match.group(1))


async def gateway_rate(
    url: str, slapd: Slapd, clients: int, seconds: float, user: str = "carol"
) -> float:
    if wrk.available():
        return gateway_rate_wrk(url, slapd, clients, seconds, user)
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(timeout=30) as http:
            i = n
            while time.perf_counter() < deadline:
                user = USERS[i % len(USERS)]
                r = await http.post(url + "/", data=form(slapd, user))
                if r.status_code != 200 or "<SessionToken>" not in r.text:
                    raise RuntimeError(f"login of {user}: {r.status_code} {r.text[:200]}")
                done += 1
                i += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return done / (time.perf_counter() - started)


def direct_rate(slapd: Slapd, clients: int, seconds: float) -> float:
    done = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(n: int) -> None:
        nonlocal done
        service = ldap.initialize(slapd.url)
        service.set_option(ldap.OPT_REFERRALS, 0)
        service.simple_bind_s(slapd.bind_dn, slapd.bind_password)
        bind = ldap.initialize(slapd.url)
        i = n
        while time.perf_counter() < deadline:
            user = USERS[i % len(USERS)]
            found = service.search_s(
                slapd.people_dn, ldap.SCOPE_SUBTREE, f"(uid={escape_filter_chars(user)})", ["uid"]
            )
            dn = found[0][0]
            bind.simple_bind_s(dn, slapd.users[user])
            service.search_s(
                slapd.groups_dn,
                ldap.SCOPE_SUBTREE,
                f"(&(objectClass=groupOfNames)(member={escape_filter_chars(dn)}))",
                ["cn"],
            )
            with lock:
                done += 1
            i += 1
        bind.unbind_s()
        service.unbind_s()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done / (time.perf_counter() - started)


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="iamgw-bench-ldap-"))
    slapd = start_slapd(workdir / "slapd")
    plain = add_plain_users(slapd, args.clients)
    node = start_seaweedfs(workdir / "node")
    env = gateway_env(node, workdir / "gateway", free_port(), **ldap_env(slapd, USERS + plain))
    proc, url = serve(env, args.workers)
    try:
        await gateway_rate(url, slapd, args.clients, 1.0)  # warm up
        seconds = args.seconds / 3
        many = None
        if wrk.available():
            many = statistics.median(
                [gateway_rate_users(url, slapd, args.clients, seconds, plain) for _ in range(3)]
            )
        ours = statistics.median(
            [await gateway_rate(url, slapd, args.clients, seconds) for _ in range(3)]
        )
        nested = statistics.median(
            [await gateway_rate(url, slapd, args.clients, seconds, "alice") for _ in range(3)]
        )
        print("  measured iamgw", file=sys.stderr)
        direct = statistics.median([direct_rate(slapd, args.clients, seconds) for _ in range(3)])
        print("  measured python-ldap", file=sys.stderr)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        node.stop()
        slapd.stop()
    print(f"\n{'LDAP logins, ' + str(args.clients) + ' clients':<52}{'logins/s':>10}{'ratio':>8}")
    print("-" * 70)
    print(f"{'python-ldap directly (search + bind + group search)':<52}{direct:>10,.0f}{'':>8}")
    if many is not None:
        label = f"iamgw AssumeRoleWithLDAPIdentity, same work, {args.clients} users"
        print(f"{label:<52}{many:>10,.0f}{many / direct:>8.2f}")
    print(f"{'iamgw, carol on every client (5 at once: throttle)':<52}{ours:>10,.0f}"
          f"{ours / direct:>8.2f}")  # fmt: skip
    print(f"{'iamgw, alice: groups nested 2 levels (+3 searches)':<52}{nested:>10,.0f}"
          f"{nested / direct:>8.2f}")  # fmt: skip
    client = "wrk" if wrk.available() else "a Python client"
    workers = f"{args.workers} uvicorn worker{'s' if args.workers > 1 else ''}"
    print(f"\n{workers}; {client}; slapd, clients, gateway and node share the cores.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement (3 runs)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of iamgw")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
