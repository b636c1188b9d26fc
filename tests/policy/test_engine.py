"""The Engine (named policies, decision cache) and its Casbin enforcer."""

from __future__ import annotations

import pytest

from iamgw.policy import Engine, MalformedPolicyDocument, Outcome, PolicyKind, Request
from iamgw.policy._casbin import CasbinEnforcer
from iamgw.policy.decision import PolicyType
from iamgw.policy.evaluate import first_match
from tests.policy.policy_helpers import ACCOUNT, ALICE, OBJECT, SESSION, policy, stmt
from tests.policy.test_conformance import CORPUS, _cases, build

READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/*",
        }
    ],
}
DENY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
}


def req(action: str = "s3:GetObject", **kw: object) -> Request:
    return Request(action, OBJECT, ALICE, **kw)  # type: ignore[arg-type]


def test_engine_decides_by_name() -> None:
    engine = Engine()
    engine.put("read", READ)
    assert engine.evaluate(req(), ["read"]).statement == "Read"
    assert not engine.evaluate(req("s3:PutObject"), ["read"])
    assert engine.names() == ["read"]
    assert engine.get("read") is not None


def test_cache_hits_and_invalidation() -> None:
    engine = Engine()
    engine.put("read", READ)
    assert engine.evaluate(req(), ["read"]).allowed
    assert engine.evaluate(req(), ["read"]).allowed
    assert (engine.hits, engine.misses) == (1, 1)
    engine.put("deny", DENY)  # any change clears the cache
    assert engine.evaluate(req(), ["read", "deny"]).outcome is Outcome.EXPLICITLY_DENIED
    engine.remove("deny")
    assert engine.evaluate(req(), ["read", "deny"]).allowed
    engine.put("read", DENY)  # replaced
    assert not engine.evaluate(req(), ["read"]).allowed


def test_cache_key_holds_the_context_and_the_policies() -> None:
    engine = Engine()
    engine.put("tagged", policy(stmt(Condition={"StringEquals": {"aws:PrincipalTag/t": "x"}})))
    assert engine.evaluate(req(context={"aws:PrincipalTag/t": "x"}), ["tagged"]).allowed
    assert not engine.evaluate(req(context={"aws:PrincipalTag/t": "y"}), ["tagged"]).allowed
    assert not engine.evaluate(req(context={"aws:PrincipalTag/t": "x"}), []).allowed
    session = policy(stmt(action="ec2:*"), kind=PolicyKind.SESSION)
    r = Request("s3:GetObject", OBJECT, SESSION, {"aws:PrincipalTag/t": "x"})
    assert not engine.evaluate(r, ["tagged"], session_policy=session).allowed
    assert engine.evaluate(r, ["tagged"]).allowed


def test_cache_is_bounded() -> None:
    engine = Engine(cache_size=2)
    engine.put("read", READ)
    for key in ("a", "b", "c"):
        engine.evaluate(Request("s3:GetObject", f"arn:aws:s3:::bucket/{key}", ALICE), ["read"])
    assert len(engine._cache) == 2


def test_unknown_names() -> None:
    engine = Engine()
    engine.put("read", READ)
    assert engine.evaluate(req(), ["read", "nope"]).allowed
    d = engine.evaluate(req(), ["read"], boundary="missing-boundary")
    assert d.blocked_by == (PolicyType.BOUNDARY,)


def test_put_rejects_bad_documents() -> None:
    with pytest.raises(MalformedPolicyDocument):
        Engine().put("bad", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]})


def test_casbin_holds_one_line_per_statement() -> None:
    engine = Engine()
    engine.put("read", READ)
    engine.put("bp", policy(stmt("Deny", Principal="*"), kind=PolicyKind.RESOURCE))
    assert engine.casbin.lines() == [
        ["identity", "read", "0", "allow"],
        ["resource", "bp", "0", "deny"],
    ]
    engine.remove("read")
    assert engine.casbin.lines() == [["resource", "bp", "0", "deny"]]


def test_casbin_generic_enforcement() -> None:
    enforcer = CasbinEnforcer()
    enforcer.add("identity", "p", policy(stmt(), stmt("Deny", resource="arn:aws:s3:::b/secret")))
    assert enforcer.enforce(Request("s3:GetObject", "arn:aws:s3:::b/k", ALICE), "identity")[0]
    allowed, line = enforcer.enforce(
        Request("s3:GetObject", "arn:aws:s3:::b/secret", ALICE), "identity"
    )
    assert (allowed, line) == (False, ["identity", "p", "1", "deny"])
    assert enforcer.final_effect(allow=True, deny=False)
    assert not enforcer.final_effect(allow=True, deny=True)
    assert not enforcer.final_effect(allow=False, deny=False)


_KINDS = {
    "identity": PolicyKind.IDENTITY,
    "boundaries": PolicyKind.BOUNDARY,
    "session_policies": PolicyKind.SESSION,
}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"conformance data absent: {CORPUS}")
def test_casbin_and_the_index_agree_on_the_corpus() -> None:
    """Per policy type, Casbin's generic enforcement over every line gives the same
    effect as the hot path (index + the same matcher) on every conformance case."""
    checked = 0
    for param in _cases():
        case = param.values[0]
        request, kwargs = build(case)
        enforcer = CasbinEnforcer()
        for arg, kind in _KINDS.items():
            policies = kwargs[arg]
            for i, p in enumerate(policies):
                enforcer.add(str(kind), f"{arg}{i}", p)
            if not policies:
                continue
            allow = any(first_match(p, request, deny=False) for p in policies)
            deny = any(first_match(p, request, deny=True) for p in policies)
            casbin_result, _ = enforcer.enforce(request, str(kind))
            assert casbin_result == enforcer.final_effect(allow, deny), case["name"]
            checked += 1
    assert checked > 100


def test_account_in_request_key() -> None:
    a = Request("s3:GetObject", OBJECT, ALICE, resource_account=ACCOUNT)
    b = Request("s3:GetObject", OBJECT, ALICE, resource_account="999999999999")
    assert a.key != b.key


def test_every_session_policy_must_allow() -> None:
    from iamgw.policy import Engine, Request

    engine = Engine()
    allow_all = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    only_get = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    engine.put("id", allow_all)
    engine.put("s1", allow_all, "session")
    engine.put("s2", only_get, "session")
    get = Request("s3:GetObject", "arn:aws:s3:::b/k", "arn:aws:iam::000000000000:user/a")
    put = Request("s3:PutObject", "arn:aws:s3:::b/k", "arn:aws:iam::000000000000:user/a")
    assert engine.evaluate(get, ["id"], session_policy=["s1", "s2"]).allowed
    assert not engine.evaluate(put, ["id"], session_policy=["s1", "s2"]).allowed
    assert engine.evaluate(put, ["id"], session_policy="s1").allowed
