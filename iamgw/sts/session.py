"""What every credential-issuing action shares: its parameters and the minting.

Parameter names and bounds follow the STS API Reference (AssumeRole,
AssumeRoleWithWebIdentity): RoleSessionName `[\\w+=,.@-]{2,64}`, DurationSeconds,
Policy (a session policy, plaintext up to 2,048 characters), PolicyArns (up to 10),
Tags (up to 50; keys up to 128, values up to 256 characters) and TransitiveTagKeys.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from iamgw.errors import ValidationError
from iamgw.identity import (
    SessionClaims,
    SessionTokens,
    new_access_key_id,
    new_secret_key,
)
from iamgw.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from iamgw.store import NoSuchEntity, Repository

from .errors import InvalidParameterValue, MissingParameter, PackedPolicyTooLarge, from_policy

SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_INDEX = re.compile(r"[1-9][0-9]{0,8}")
SECONDS = re.compile(r"[0-9]{1,9}")
TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")
MAX_POLICY_ARNS = 10
MAX_TAGS = 50
CHAIN_MAX_SECONDS = 3600  # IAM User Guide, "Role chaining": one hour at most
# The packed form (session policies and tags, compressed) must fit this many bytes:
# it keeps a session token with a 2 KiB session policy under 2 KiB, small enough for
# HTTP headers and browser cookies. PackedPolicySize reports the percentage used.
PACKED_LIMIT_BYTES = 1024


def require(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise MissingParameter(f"The request must contain the parameter {name}.")
    return value


def session_name(params: dict[str, str], default: str | None = None) -> str:
    """RoleSessionName; `default` (already sanitised) when absent and allowed."""
    value = params.get("RoleSessionName")
    if not value:
        if default is None:
            raise MissingParameter("The request must contain the parameter RoleSessionName.")
        return default
    if not SESSION_NAME.fullmatch(value):
        raise ValidationError(
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* "
            "and have length between 2 and 64"
        )
    return value


def default_session_name(*candidates: Any) -> str:
    """A valid RoleSessionName made of the first usable candidate (a user name, a token's
    subject): the candidate itself when it is one; else its valid form and a digest of
    the exact value, so that two users whose names differ only in characters a session
    name cannot hold (`x y` and `x-y`), or past its 64 characters, never share a session
    ARN (which bucket policies, `aws:userid` and revocations name)."""
    names = [value for value in candidates if isinstance(value, str)]
    for value in names:
        cleaned = re.sub(r"[^\w+=,.@-]", "-", value)[:64]
        if cleaned == value and len(cleaned) >= 2:
            return cleaned
        if len(cleaned) >= 2:
            return f"{cleaned[:51]}-{_digest(value)}"
    return f"session-{_digest(names[0])}" if names else "session"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def duration(params: dict[str, str], lowest: int, default: int, highest: int) -> int:
    """DurationSeconds within [lowest, highest] (the request's own bounds)."""
    raw = params.get("DurationSeconds")
    if raw is None or raw == "":
        return min(default, highest)
    if not SECONDS.fullmatch(raw):
        raise ValidationError(f"DurationSeconds {raw!r} is not a whole number of seconds.")
    value = int(raw)
    if value < lowest:
        raise ValidationError(
            "1 validation error detected: Value at 'durationSeconds' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {lowest}"
        )
    if value > highest:
        raise ValidationError(
            f"The requested DurationSeconds exceeds the MaxSessionDuration set for this "
            f"session: {value} > {highest} seconds."
        )
    return value


def list_index(key: str, index: str) -> int:
    """N of a `Name.member.N` parameter: ASCII digits only (`str.isdigit` takes `²`,
    which int() refuses), and few of them (int() refuses more than 4,300)."""
    if not _INDEX.fullmatch(index):
        raise ValidationError(
            f"The list index of parameter {ascii(key[:128])} is not a number from 1 to 999999999."
        )
    return int(index)


def members(params: dict[str, str], prefix: str) -> list[dict[str, str]]:
    """The Query protocol's lists of structures: `Prefix.member.N.Field` -> [{Field: ...}]."""
    found: dict[int, dict[str, str]] = {}
    head = prefix + ".member."
    for key, value in params.items():
        if key.startswith(head):
            index, _, name = key[len(head) :].partition(".")
            found.setdefault(list_index(key, index), {})[name] = value
    return [found[i] for i in sorted(found)]


@dataclass
class SessionPolicies:
    document: str = ""  # minified Policy
    arns: tuple[str, ...] = ()


async def session_policies(params: dict[str, str], repo: Repository) -> SessionPolicies:
    """Policy and PolicyArns: validated, PolicyArns resolved to existing managed policies."""
    document = ""
    raw = params.get("Policy")
    if raw:
        if len(raw) > 2048:
            raise ValidationError(
                "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
                "Member must have length less than or equal to 2048"
            )
        try:
            parse_policy(raw, PolicyKind.SESSION)
        except MalformedPolicyDocument as exc:
            raise from_policy(exc) from None
        document = json.dumps(json.loads(raw), separators=(",", ":"))
    arns = [m.get("arn", "") for m in members(params, "PolicyArns")]
    if len(arns) > MAX_POLICY_ARNS:
        raise ValidationError(
            "1 validation error detected: Value at 'policyArns' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )
    resolved: list[str] = []
    for arn in arns:
        if not arn.startswith("arn:"):
            raise InvalidParameterValue(f"PolicyArns: {arn!r} is not a policy ARN.")
        try:
            policy = await run_in_threadpool(repo.get_policy, arn)
        except NoSuchEntity:
            raise InvalidParameterValue(f"PolicyArns: policy {arn} does not exist.") from None
        resolved.append(repo.policy_arn(policy))
    return SessionPolicies(document, tuple(dict.fromkeys(resolved)))


def request_tags(params: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Tags and TransitiveTagKeys of the request."""
    tags: dict[str, str] = {}
    seen: set[str] = set()
    entries = members(params, "Tags")
    if len(entries) > MAX_TAGS:
        raise ValidationError(f"A session may carry at most {MAX_TAGS} tags.")
    for entry in entries:
        key, value = entry.get("Key", ""), entry.get("Value", "")
        check_tag(key, value)
        if key.lower() in seen:
            raise InvalidParameterValue(f"Duplicate tag keys found: {key}.")
        seen.add(key.lower())
        tags[key] = value
    transitive = tuple(v for k, v in sorted(_indexed(params, "TransitiveTagKeys")))
    lowered = {k.lower() for k in tags}
    for key in transitive:
        if key.lower() not in lowered:
            raise InvalidParameterValue(f"TransitiveTagKeys: {key} is not a tag of the session.")
    return tags, transitive


def check_tag(key: str, value: str) -> None:
    if not 1 <= len(key) <= 128 or not TAG_TEXT.fullmatch(key) or key.lower().startswith("aws:"):
        raise InvalidParameterValue(f"Tag key {key[:128]!r} is not valid.")
    if len(value) > 256 or not TAG_TEXT.fullmatch(value):
        raise InvalidParameterValue(f"The value of tag {key!r} is not valid.")


def _indexed(params: dict[str, str], prefix: str) -> list[tuple[int, str]]:
    head = prefix + ".member."
    return [(list_index(k, k[len(head) :]), v) for k, v in params.items() if k.startswith(head)]


def packed_percent(policies: SessionPolicies, tags: dict[str, str]) -> int:
    """PackedPolicySize: the packed session policies and tags, in percent of the limit."""
    packed = json.dumps(
        [policies.document, policies.arns, sorted(tags.items())], separators=(",", ":")
    )
    size = len(zlib.compress(packed.encode(), 9))
    percent = math.ceil(100 * size / PACKED_LIMIT_BYTES)
    if percent > 100:
        raise PackedPolicyTooLarge(
            f"Packed size of session policies and tags is {percent}% of the allowed maximum."
        )
    return percent


@dataclass
class Grant:
    """Whom a new session stands for and what it may do (before the session policies)."""

    arn: str  # session ARN (assumed-role/ROLE/SESSION) or the user's ARN
    typ: str  # aws:PrincipalType
    src: str  # what revocation "by user" matches: role or user ARN
    uid: str = ""
    un: str = ""
    pol: tuple[str, ...] = ()
    bnd: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ttk: tuple[str, ...] = ()
    idp: dict[str, Any] = field(default_factory=dict)
    chain: bool = False


@dataclass
class Issued:
    claims: SessionClaims
    token: str

    @property
    def expiration(self) -> datetime:
        return datetime.fromtimestamp(self.claims.exp, UTC)

    def credentials(self) -> dict[str, Any]:
        """The `<Credentials>` element of the answer, in AWS's order."""
        return {
            "AccessKeyId": self.claims.ak,
            "SecretAccessKey": self.claims.sk,
            "SessionToken": self.token,
            "Expiration": self.expiration,
        }


def issue(
    tokens: SessionTokens,
    grant: Grant,
    seconds: int,
    policies: SessionPolicies | None = None,
) -> Issued:
    """Mint the temporary credentials of `grant` for `seconds`."""
    now = int(time.time())
    access_key = new_access_key_id()
    policies = policies or SessionPolicies()
    claims = SessionClaims(
        ak=access_key,
        sk=new_secret_key(),
        exp=now + seconds,
        iat=now,
        sid=access_key,  # `iamgw revoke --session ASIA...` names the key its user sees
        arn=grant.arn,
        typ=grant.typ,
        src=grant.src,
        uid=grant.uid,
        un=grant.un,
        pol=grant.pol,
        bnd=grant.bnd or "",
        sp=policies.document,
        spa=policies.arns,
        tags=dict(grant.tags),
        ttk=grant.ttk,
        idp=dict(grant.idp),
        chain=grant.chain,
    )
    return Issued(claims, tokens.mint(claims))
