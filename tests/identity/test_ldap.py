"""iamgw.identity.LdapDirectory against real slapd peers: groups (none, several, nested,
bounded), every refusal alike, injection, TLS (StartTLS, ldaps, wrong host, unknown CA),
failover, a directory that is down or hung, throttling, and secrets kept out of logs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import anyio.to_thread
import pytest
import trustme

from iamgw.config import ConfigError, LdapSettings, load_settings
from iamgw.identity import (
    LdapDenied,
    LdapDirectory,
    LdapLogin,
    LdapThrottled,
    LdapUnavailable,
    normalise_dn,
)
from iamgw.identity.ldap_conn import Threads
from iamgw.identity.ldap_entries import NestedGroups, locked_now, refused_before_bind
from iamgw.ops import Metrics
from tests.peers import Slapd, TlsFiles, start_slapd

# A login against a directory that does not answer ends within 5 s (the issue), retries
# included; the margin is for a loaded test machine, not for the code.
DEADLINE = 5.0 + 1.5
SERVICE_DN = "cn=iamgw,dc=example,dc=org"
SERVICE_PASSWORD = "iamgw-service-password"
SERVICE_LDIF = f"""\
dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: iamgw
userPassword: {SERVICE_PASSWORD}
"""


@dataclass(frozen=True)
class Pki:
    ca_file: Path  # the CA that signed both certificates
    other_ca_file: Path  # a CA nobody used
    good: TlsFiles  # for 127.0.0.1
    wrong_host: TlsFiles  # for another name


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    out = tmp_path_factory.mktemp("pki")
    ca, other = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(out / "ca.pem")
    other.cert_pem.write_to_path(out / "other-ca.pem")
    files = {}
    for name, host in (("good", "127.0.0.1"), ("wrong", "ldap.other.example")):
        cert = ca.issue_cert(host)
        for i, pem in enumerate(cert.cert_chain_pems):
            pem.write_to_path(out / f"{name}.pem", append=i > 0)
        cert.private_key_pem.write_to_path(out / f"{name}.key")
        files[name] = TlsFiles(out / f"{name}.pem", out / f"{name}.key")
    return Pki(out / "ca.pem", out / "other-ca.pem", files["good"], files["wrong"])


def person(uid: str, people: str, extra: str = "") -> str:
    return (
        f"dn: uid={uid},{people}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n"
        f"sn: {uid}\nuserPassword: {uid}-password\n{extra}"
    )


def group(cn: str, groups: str, *members: str) -> str:
    lines = "".join(f"member: {m}\n" for m in members)
    return f"dn: cn={cn},{groups}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}"


def extra_entries(base: str) -> tuple[str, str]:
    """Entries to add, then a change: erin is locked with a timestamp (ppolicy refuses
    her bind); frank is in g0, which is in g1, ... in g10 (deeper than the walk goes),
    and in the posixGroup `developers` by his uid; ivy is in two groups that hold each
    other."""
    people, groups = f"ou=people,{base}", f"ou=groups,{base}"
    entries = [
        person("erin", people, "pwdAccountLockedTime: 20240101000000Z\n"),
        person("frank", people),
        person("ivy", people),
        group("g0", groups, f"uid=frank,{people}"),
        *(group(f"g{i}", groups, f"cn=g{i - 1},{groups}") for i in range(1, 11)),
        group("loop-a", groups, f"uid=ivy,{people}"),
        group("loop-b", groups, f"cn=loop-a,{groups}"),
        f"dn: cn=developers,{groups}\nobjectClass: posixGroup\ncn: developers\n"
        "gidNumber: 5000\nmemberUid: frank\n",
    ]
    change = (
        f"dn: cn=loop-a,{groups}\nchangetype: modify\nadd: member\nmember: cn=loop-b,{groups}\n"
    )
    return "\n".join(entries), change


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Slapd]:
    """The seed plus erin, frank, ivy and their groups; StartTLS and ldaps with `pki.good`."""
    server = start_slapd(tmp_path_factory.mktemp("slapd-ldap"), tls=pki.good)
    try:
        entries, change = extra_entries(server.base_dn)
        server.add(entries)
        server.modify(change)
        server.add(SERVICE_LDIF)
        yield server
    finally:
        server.stop()


def settings_for(server: Slapd, *urls: str, **changes: object) -> LdapSettings:
    base = LdapSettings(
        url=" ".join(urls or (server.url,)),
        bind_dn=SERVICE_DN,
        bind_password=SERVICE_PASSWORD,
        user_search_base=server.people_dn,
        group_search_base=server.groups_dn,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def login(settings: LdapSettings, username: str, password: str, **kw: object) -> LdapLogin:
    async def run() -> LdapLogin:
        directory = LdapDirectory(settings)
        try:
            return await directory.login(username, password, **kw)  # type: ignore[arg-type]
        finally:
            await directory.aclose()

    return asyncio.run(run())


def groups_of(found: LdapLogin) -> set[str]:
    return {normalise_dn(dn) for dn in found.group_dns}


# ---- logins and groups ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "groups"),
    [
        ("carol", set()),  # in no group
        ("bob", {"s3-readers", "auditors", "staff"}),  # two groups, and one through them
        ("alice", {"s3-writers", "s3-admins", "staff"}),  # nested two levels
        ("ivy", {"loop-a", "loop-b"}),  # groups holding each other: the walk ends
    ],
)
def test_login_finds_every_group(directory: Slapd, user: str, groups: set[str]) -> None:
    found = login(settings_for(directory), user, f"{user}-password")
    assert found.username == user
    assert found.user_dn == directory.user_dn(user)
    assert groups_of(found) == {normalise_dn(directory.group_dn(g)) for g in groups}
    assert len(found.group_dns) == len(groups)  # each once


def test_nesting_is_followed_eight_levels_and_no_further(directory: Slapd) -> None:
    found = login(settings_for(directory), "frank", "frank-password")
    assert groups_of(found) == {normalise_dn(directory.group_dn(f"g{i}")) for i in range(9)}


def test_own_groups_are_read_at_every_login_nesting_after_a_few_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The groups above a user's groups are kept NESTED_SECONDS; the user's own groups
    are read afresh at every login."""
    monkeypatch.setattr("iamgw.identity.ldap.NESTED_SECONDS", 0.5)
    server = start_slapd(tmp_path)
    server.add(SERVICE_LDIF)

    async def run() -> list[set[str]]:
        directory = LdapDirectory(settings_for(server))
        seen = []
        try:
            seen.append(groups_of(await directory.login("alice", "alice-password")))
            server.add(group("outer", server.groups_dn, server.group_dn("staff")))
            server.add(group("mine", server.groups_dn, server.user_dn("alice")))
            seen.append(groups_of(await directory.login("alice", "alice-password")))
            await asyncio.sleep(0.6)
            seen.append(groups_of(await directory.login("alice", "alice-password")))
            return seen
        finally:
            await directory.aclose()

    try:
        first, own, later = asyncio.run(run())
    finally:
        server.stop()
    nested = {normalise_dn(server.group_dn(g)) for g in ("s3-writers", "s3-admins", "staff")}
    assert first == nested
    assert normalise_dn(server.group_dn("mine")) in own  # at once
    assert later == nested | {normalise_dn(server.group_dn(g)) for g in ("mine", "outer")}


def test_nested_groups_are_kept_a_while_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("iamgw.identity.ldap_entries.time.monotonic", lambda: now[0])
    kept = NestedGroups(5.0, size=2)
    kept.put(frozenset({"cn=a"}), ["cn=above-a"])
    assert kept.get(frozenset({"cn=a"})) == ["cn=above-a"]
    assert kept.get(frozenset({"cn=b"})) is None
    now[0] += 5.0
    assert kept.get(frozenset({"cn=a"})) is None  # out of date
    for name in ("a", "b", "c"):
        kept.put(frozenset({f"cn={name}"}), [])
    assert kept.get(frozenset({"cn=a"})) is None  # the oldest went first
    assert kept.get(frozenset({"cn=c"})) == []


def test_user_name_comes_back_as_the_directory_holds_it(directory: Slapd) -> None:
    found = login(settings_for(directory), " ALICE", "alice-password")
    assert (found.username, found.user_dn) == ("alice", directory.user_dn("alice"))


def test_group_filter_gets_the_user_name_as_the_directory_holds_it(directory: Slapd) -> None:
    # memberUid matches case-exactly (RFC 2307): "FRANK" typed, "frank" held and used.
    settings = settings_for(
        directory,
        group_search_filter="(|(member={user_dn})(&(objectClass=posixGroup)(memberUid={username})))",
    )
    found = login(settings, "FRANK", "frank-password")
    assert normalise_dn(directory.group_dn("developers")) in groups_of(found)
    assert normalise_dn(directory.group_dn("g8")) in groups_of(found)


def test_many_groups_are_paged_and_capped(tmp_path: Path) -> None:
    """1005 groups: the group search runs over three pages, and at most 1000 come back."""
    server = start_slapd(tmp_path)
    try:
        henry = f"uid=henry,{server.people_dn}"
        server.add(
            f"dn: {henry}\nobjectClass: inetOrgPerson\nuid: henry\ncn: h\nsn: h\n"
            "userPassword: henry-password\n"
        )
        server.add(
            "\n".join(
                f"dn: cn=big-{i:04},{server.groups_dn}\nobjectClass: groupOfNames\n"
                f"cn: big-{i:04}\nmember: {henry}\n"
                for i in range(1005)
            )
        )
        settings = settings_for(server, bind_dn=server.bind_dn, bind_password=server.bind_password)
        found = login(settings, "henry", "henry-password")
    finally:
        server.stop()
    assert len(found.group_dns) == 1000
    assert len(groups_of(found)) == 1000


# ---- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", "wrong-password"),
        ("alice", "ALICE-PASSWORD"),
        ("nobody", "alice-password"),  # unknown user
        ("alice", ""),  # empty: an unauthenticated bind would "succeed"
        ("dave", "dave-password"),  # locked by an administrator (000001010000Z)
        ("erin", "erin-password"),  # locked with a timestamp: ppolicy refuses her bind
        ("", "x"),
        ("   ", "x"),
    ],
)
def test_every_refusal_looks_the_same(directory: Slapd, username: str, password: str) -> None:
    with pytest.raises(LdapDenied) as info:
        login(settings_for(directory), username, password)
    assert type(info.value) is LdapDenied
    assert str(info.value) == LdapDenied.MESSAGE


def test_a_filter_matching_several_entries_logs_nobody_in(directory: Slapd) -> None:
    settings = settings_for(directory, user_search_filter="(|(uid={username})(sn=*))")
    with pytest.raises(LdapDenied):
        login(settings, "alice", "alice-password")


@pytest.mark.parametrize(
    "username",
    [
        "*",
        "*)(uid=*))(|(uid=*",
        "alice)(uid=*",
        "alice*",
        "*alice",
        "(uid=alice)",
        "\\00",
        "alice\x00",
        "\x00",
        "alice,ou=people,dc=example,dc=org",
        "uid=alice",
        "alice+cn=Alice",
        "a=b,c=d",
        "{user_dn}",
        "{username}",
        "alice\\",
        "#alice",
        "alice\ud800",  # a lone surrogate: not UTF-8 at all
        "a" * 10_000,
    ],
)
def test_injection_in_the_user_name_logs_nobody_in_and_breaks_nothing(
    directory: Slapd, username: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LdapDenied):  # alice's own password: it must not log anyone in
        login(settings_for(directory), username, "alice-password")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# ---- transport ------------------------------------------------------------------------


def test_starttls_with_the_test_ca(directory: Slapd, pki: Pki) -> None:
    settings = settings_for(directory, start_tls=True, ca_file=str(pki.ca_file))
    assert login(settings, "bob", "bob-password").user_dn == directory.user_dn("bob")


def test_ldaps_with_the_test_ca(directory: Slapd, pki: Pki) -> None:
    assert directory.ldaps_url
    settings = settings_for(directory, directory.ldaps_url, ca_file=str(pki.ca_file))
    assert login(settings, "bob", "bob-password").user_dn == directory.user_dn("bob")


def test_a_certificate_from_an_unknown_ca_is_refused(directory: Slapd, pki: Pki) -> None:
    assert directory.ldaps_url
    for settings in (
        settings_for(directory, directory.ldaps_url, ca_file=str(pki.other_ca_file)),
        settings_for(directory, start_tls=True, ca_file=str(pki.other_ca_file)),
    ):
        with pytest.raises(LdapUnavailable) as info:
            login(settings, "bob", "bob-password")
        assert settings.urls[0] in str(info.value)


def test_a_certificate_for_another_host_is_refused(tmp_path: Path, pki: Pki) -> None:
    server = start_slapd(tmp_path, tls=pki.wrong_host)
    try:
        server.add(SERVICE_LDIF)
        assert server.ldaps_url
        for settings in (
            settings_for(server, server.ldaps_url, ca_file=str(pki.ca_file)),
            settings_for(server, start_tls=True, ca_file=str(pki.ca_file)),
        ):
            with pytest.raises(LdapUnavailable) as info:
                login(settings, "bob", "bob-password")
            assert settings.urls[0] in str(info.value)
    finally:
        server.stop()


def test_ca_file_must_exist(tmp_path: Path) -> None:
    env = {
        "IAMGW_LDAP_URL": "ldaps://127.0.0.1:636",
        "IAMGW_LDAP_USER_SEARCH_BASE": "dc=x",
        "IAMGW_LDAP_CA_FILE": str(tmp_path / "missing.pem"),
    }
    with pytest.raises(ConfigError, match="ldap.ca_file"):
        load_settings(environ=env)
    (tmp_path / "missing.pem").write_text("")
    assert load_settings(environ=env).ldap.ca_file == str(tmp_path / "missing.pem")


# ---- a directory that is down, hung, or one of two --------------------------------------


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"ldap://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def silent_urls() -> Iterator[list[str]]:
    """Two servers that accept TCP connections and never say a word."""
    sockets = []
    for _ in range(2):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sockets.append(sock)
    try:
        yield [f"ldap://127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_a_directory_that_is_down_is_unavailable_at_once(directory: Slapd) -> None:
    url = closed_port_url()
    began = time.monotonic()
    with pytest.raises(LdapUnavailable) as info:
        login(settings_for(directory, url), "alice", "alice-password")
    assert time.monotonic() - began < DEADLINE
    assert url in str(info.value)


@pytest.mark.parametrize("tls", ["ldap", "starttls", "ldaps"])
def test_directories_that_never_answer_fail_within_five_seconds(
    directory: Slapd, pki: Pki, silent_urls: list[str], tls: str
) -> None:
    urls = (
        [u.replace("ldap://", "ldaps://") for u in silent_urls] if tls == "ldaps" else silent_urls
    )
    settings = settings_for(directory, *urls, start_tls=tls == "starttls", ca_file=str(pki.ca_file))
    began = time.monotonic()
    with pytest.raises(LdapUnavailable) as info:
        login(settings, "alice", "alice-password")
    assert time.monotonic() - began < DEADLINE
    assert all(url in str(info.value) for url in urls)


@pytest.fixture
def two_directories(tmp_path: Path) -> Iterator[tuple[Slapd, Slapd]]:
    servers: list[Slapd] = []
    try:
        for name in ("first", "second"):
            server = start_slapd(tmp_path / name)
            servers.append(server)
            server.add(SERVICE_LDIF)
        yield servers[0], servers[1]
    finally:
        for server in servers:
            if server.running():
                os.kill(server.pid, signal.SIGCONT)
            server.stop()


def test_failover_to_the_second_directory_when_the_first_stops(
    two_directories: tuple[Slapd, Slapd],
) -> None:
    first, second = two_directories
    metrics = Metrics()

    async def run() -> list[LdapLogin]:
        directory = LdapDirectory(settings_for(first, first.url, second.url), metrics=metrics)
        try:
            logins = [await directory.login("alice", "alice-password")]
            first.stop()
            began = time.monotonic()
            logins.append(await directory.login("alice", "alice-password"))
            assert time.monotonic() - began < DEADLINE
            logins.append(await directory.login("bob", "bob-password"))
            return logins
        finally:
            await directory.aclose()

    logins = asyncio.run(run())
    assert [x.username for x in logins] == ["alice", "alice", "bob"]
    assert logins[0] == logins[1]
    sample = metrics.registry.get_sample_value
    assert sample("iamgw_ldap_errors_total", {"server": first.url}) == 1
    assert sample("iamgw_ldap_logins_total", {"result": "ok"}) == 3
    assert sample("iamgw_ldap_seconds_count", {"server": second.url}) == 2


def test_failover_when_the_first_directory_hangs(two_directories: tuple[Slapd, Slapd]) -> None:
    first, second = two_directories

    async def run() -> LdapLogin:
        directory = LdapDirectory(settings_for(first, first.url, second.url))
        try:
            await directory.login("alice", "alice-password")  # the pool holds connections
            os.kill(first.pid, signal.SIGSTOP)
            try:
                began = time.monotonic()
                found = await directory.login("carol", "carol-password")
                assert time.monotonic() - began < DEADLINE
                return found
            finally:
                os.kill(first.pid, signal.SIGCONT)
        finally:
            await directory.aclose()

    assert asyncio.run(run()).user_dn == second.user_dn("carol")


def test_a_hung_directory_does_not_stall_the_event_loop(tmp_path: Path) -> None:
    """SIGSTOP the only directory and start more logins than the directory has threads:
    the event loop keeps its pace, the gateway's own worker threads stay free, every
    login ends within the deadline, and the first login after SIGCONT works."""
    server = start_slapd(tmp_path)
    server.add(SERVICE_LDIF)

    async def run() -> tuple[list[BaseException | LdapLogin], float, float, float, LdapLogin]:
        directory = LdapDirectory(settings_for(server))
        try:
            await directory.login("alice", "alice-password")
            os.kill(server.pid, signal.SIGSTOP)
            try:
                began = time.monotonic()
                logins = asyncio.gather(
                    *(directory.login(f"user-{i}", "password") for i in range(12)),
                    return_exceptions=True,
                )
                worst_lag = worst_thread = 0.0
                while not logins.done():
                    tick = time.monotonic()
                    await asyncio.sleep(0.01)
                    worst_lag = max(worst_lag, time.monotonic() - tick - 0.01)
                    tick = time.monotonic()
                    await anyio.to_thread.run_sync(time.monotonic)  # the default limiter
                    worst_thread = max(worst_thread, time.monotonic() - tick)
                results = await logins
                elapsed = time.monotonic() - began
            finally:
                os.kill(server.pid, signal.SIGCONT)
            after = await directory.login("alice", "alice-password")
            return results, elapsed, worst_lag, worst_thread, after
        finally:
            await directory.aclose()

    try:
        results, elapsed, worst_lag, worst_thread, after = asyncio.run(run())
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.stop()
    assert all(isinstance(r, LdapUnavailable) for r in results), results
    assert elapsed < DEADLINE
    assert worst_lag < 0.5 and worst_thread < 0.5
    assert after.username == "alice"


def test_a_call_holds_its_thread_until_it_ends_even_when_its_caller_gave_up() -> None:
    async def run() -> None:
        threads = Threads(1)
        gate = threading.Event()
        threads.start(gate.wait, 10).cancel()  # the caller gave up; the call goes on
        await asyncio.sleep(0.05)
        assert threads.busy == 1
        freed = asyncio.create_task(threads.free())
        await asyncio.sleep(0.05)
        assert not freed.done()
        gate.set()
        await asyncio.wait_for(freed, 10)
        assert threads.busy == 0
        with pytest.raises(ZeroDivisionError):
            await threads.start(divmod, 1, 0)
        assert await threads.start(sum, [1, 2]) == 3
        threads.stop()

    asyncio.run(run())


def test_a_refused_service_account_is_unavailable_not_denied(directory: Slapd) -> None:
    with pytest.raises(LdapUnavailable, match="service account"):
        login(settings_for(directory, bind_password="wrong"), "alice", "alice-password")


def test_a_closed_directory_refuses_logins(directory: Slapd) -> None:
    async def run() -> None:
        ldap = LdapDirectory(settings_for(directory))
        await ldap.login("bob", "bob-password")
        await ldap.aclose()
        with pytest.raises(LdapUnavailable):
            await ldap.login("bob", "bob-password")

    asyncio.run(run())


# ---- throttling -----------------------------------------------------------------------


def test_the_sixth_wrong_password_is_throttled_then_even_the_right_one(
    directory: Slapd,
) -> None:
    metrics = Metrics()

    async def run() -> tuple[list[str], LdapLogin]:
        ldap = LdapDirectory(settings_for(directory), metrics=metrics)
        try:
            outcomes = []
            for password in ["wrong"] * 6 + ["alice-password"]:
                try:
                    await ldap.login("alice", password, source="192.0.2.1")
                    outcomes.append("ok")
                except (LdapDenied, LdapThrottled) as exc:
                    outcomes.append(type(exc).__name__)
            # Another user, even from the same address, is not affected.
            return outcomes, await ldap.login("bob", "bob-password", source="192.0.2.1")
        finally:
            await ldap.aclose()

    outcomes, bob = asyncio.run(run())
    assert outcomes == ["LdapDenied"] * 5 + ["LdapThrottled"] * 2
    assert bob.username == "bob"
    sample = metrics.registry.get_sample_value
    assert sample("iamgw_ldap_logins_total", {"result": "denied"}) == 5
    assert sample("iamgw_ldap_logins_total", {"result": "throttled"}) == 2


def test_one_address_trying_many_names_is_throttled(directory: Slapd) -> None:
    async def run() -> list[str]:
        ldap = LdapDirectory(settings_for(directory))
        try:
            outcomes = []
            for i in range(21):
                try:
                    await ldap.login(f"nobody-{i}", "guess", source="192.0.2.7")
                except (LdapDenied, LdapThrottled) as exc:
                    outcomes.append(type(exc).__name__)
            try:
                await ldap.login("alice", "alice-password", source="192.0.2.7")
            except LdapThrottled:
                outcomes.append("alice throttled")
            await ldap.login("alice", "alice-password", source="198.51.100.1")
            return outcomes
        finally:
            await ldap.aclose()

    assert asyncio.run(run()) == ["LdapDenied"] * 20 + ["LdapThrottled", "alice throttled"]


def test_concurrent_guesses_cannot_pass_the_limit(directory: Slapd) -> None:
    async def run() -> list[BaseException | LdapLogin]:
        ldap = LdapDirectory(settings_for(directory))
        try:
            return await asyncio.gather(
                *(ldap.login("carol", f"guess-{i}") for i in range(20)), return_exceptions=True
            )
        finally:
            await ldap.aclose()

    results = asyncio.run(run())
    assert sum(isinstance(r, LdapDenied) for r in results) == 5
    assert sum(isinstance(r, LdapThrottled) for r in results) == 15


def test_concurrent_logins_of_one_user_all_succeed(directory: Slapd) -> None:
    async def run() -> list[LdapLogin]:
        ldap = LdapDirectory(settings_for(directory))
        try:
            return await asyncio.gather(
                *(ldap.login("bob", "bob-password", source="192.0.2.9") for _ in range(30))
            )
        finally:
            await ldap.aclose()

    assert {found.username for found in asyncio.run(run())} == {"bob"}


# ---- secrets --------------------------------------------------------------------------


def test_the_password_never_reaches_a_log_or_an_error(
    directory: Slapd, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "s3cr3t-Pa55word-that-must-not-leak"
    service_secret = "service-secret-that-must-not-leak"
    errors: list[BaseException] = []
    attempts = [
        (settings_for(directory), "alice", secret),  # wrong
        (settings_for(directory), "nobody", secret),  # unknown
        (settings_for(directory, closed_port_url()), "alice", secret),  # down
        (settings_for(directory, bind_password=service_secret), "alice", secret),
        (settings_for(directory, start_tls=True, ca_file=str(pki.other_ca_file)), "a", secret),
    ]
    for settings, username, password in attempts:
        with pytest.raises((LdapDenied, LdapUnavailable)) as info:
            login(settings, username, password)
        errors.append(info.value)

    async def throttled() -> None:
        ldap = LdapDirectory(settings_for(directory))
        for _ in range(6):
            try:
                await ldap.login("bob", secret)
            except (LdapDenied, LdapThrottled) as exc:
                errors.append(exc)
        await ldap.aclose()

    asyncio.run(throttled())
    assert isinstance(errors[-1], LdapThrottled)
    texts = [caplog.text, repr(settings_for(directory, bind_password=service_secret))]
    for error in errors:
        texts.append("".join(traceback.format_exception(error)))
        cause: BaseException | None = error
        while cause is not None:
            texts += [str(cause), repr(cause), repr(cause.args)]
            cause = cause.__cause__ or cause.__context__
    assert "alice" in caplog.text  # the log says who, not with what
    for text in texts:
        assert secret not in text and service_secret not in text


# ---- DNs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CN=S3-Readers,OU=Groups,DC=Example,DC=Org", "cn=s3-readers,ou=groups,dc=example,dc=org"),
        ("cn = s3  readers , ou=groups", "cn=s3 readers,ou=groups"),
        ("cn=a\\2cb,dc=x", "cn=a\\,b,dc=x"),
        ('cn=a\\"b,dc=x', "cn=a\\22b,dc=x"),
        ("uid=x+cn=y,dc=z", "CN=y+UID=x,dc=z"),
        ("cn=\\#hash,dc=x", "cn=\\23hash,dc=x"),
        ("cn=caf\\C3\\A9,dc=x", "cn=CAFÉ,dc=x"),
    ],
)
def test_normalise_dn_makes_spellings_of_one_dn_equal(a: str, b: str) -> None:
    assert normalise_dn(a) == normalise_dn(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("cn=a,dc=x", "cn=b,dc=x"),
        ("cn=a\\,b,dc=x", "cn=a,cn=b,dc=x"),
        ("uid=a,dc=x", "cn=a,dc=x"),
        ("cn=a+cn=b,dc=x", "cn=a,cn=b,dc=x"),
    ],
)
def test_normalise_dn_keeps_different_dns_apart(a: str, b: str) -> None:
    assert normalise_dn(a) != normalise_dn(b)


@pytest.mark.parametrize("text", ["not a dn", "cn=a,", "=a", "cn=a\\zz"])
def test_normalise_dn_refuses_what_is_not_a_dn(text: str) -> None:
    with pytest.raises(ValueError, match="not a DN"):
        normalise_dn(text)


def test_normalise_dn_output_is_a_dn_that_normalises_to_itself() -> None:
    for dn in ["CN=A\\,B+UID=x,OU=G", "cn=\\ lead,dc=x", "cn=\\#x,dc=x", "cn=a\\00b,dc=x"]:
        once = normalise_dn(dn)
        assert normalise_dn(once) == once


# ---- account state (Active Directory has no test peer: its attributes as a table) -------


def attrs(**values: str) -> dict[str, list[bytes]]:
    return {name.replace("_", "-"): [value.encode()] for name, value in values.items()}


@pytest.mark.parametrize(
    ("entry", "before_bind", "after_bind"),
    [
        # (refused before any bind, refused when read again after a good bind)
        (attrs(), False, False),
        (attrs(userAccountControl="512"), False, False),  # NORMAL_ACCOUNT
        (attrs(userAccountControl="514"), True, True),  # ACCOUNTDISABLE
        (attrs(userAccountControl="66050"), True, True),  # + DONT_EXPIRE_PASSWORD
        (attrs(lockoutTime="0"), False, False),
        (attrs(lockoutTime="133497839000000000"), False, True),  # no computed value: locked
        (  # AD computed the lockout as over (UF_LOCKOUT clear): let in
            attrs(lockoutTime="133497839000000000", msDS_User_Account_Control_Computed="0"),
            False,
            False,
        ),
        (  # still locked out
            attrs(lockoutTime="133497839000000000", msDS_User_Account_Control_Computed="16"),
            False,
            True,
        ),
        (attrs(pwdAccountLockedTime="000001010000Z"), True, True),  # ppolicy, by an admin
        (attrs(pwdAccountLockedTime="20240101000000Z"), False, True),  # still there: locked
        (attrs(userAccountControl="not a number"), False, False),
    ],
)
def test_account_state(entry: dict[str, list[bytes]], before_bind: bool, after_bind: bool) -> None:
    assert refused_before_bind(entry) is before_bind
    assert (before_bind or locked_now(entry)) is after_bind
