"""Access: resolve the caller's identity and decide its requests with the store's policies.

Policies are loaded from the store into one `iamgw.policy.Engine` on first use.
Every request first reads the store's generation counter (one small query);
when another call or another replica changed anything, a new, empty `Snapshot`
(engine and caches) replaces the old one, so a change takes effect on the very
next request everywhere. A request keeps the snapshot its `refresh()` found
until its last decision: a write elsewhere meanwhile never swaps the engine
between loading the caller's policies and evaluating them. The revocation
deny-list is re-read at most once a second.

Nothing is kept for a caller that has not shown valid credentials: an unknown
access key is looked up again every time, a session token enters the cache
only once it opened under the master key, and every cache has a hard bound.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool

from iamgw.errors import ExpiredToken, InvalidAccessKeyId, InvalidToken
from iamgw.identity.credentials import SessionClaims, SessionTokens, TokenError, TokenExpired
from iamgw.identity.ldap import normalise_dn
from iamgw.identity.principals import (
    Identity,
    current_grant,
    is_root_key,
    root_identity,
    session_identity,
    user_identity,
)
from iamgw.ops import count_decision
from iamgw.policy import Decision, Engine, MalformedPolicyDocument, PolicyKind, Request
from iamgw.store import NoSuchEntity, Repository

log = logging.getLogger("iamgw.access")
REVOCATION_REFRESH_SECONDS = 1.0
MAX_OPEN_SESSIONS = 10_000  # opened session tokens kept (decrypting one costs ~0.1 ms)
MAX_CACHED = 10_000  # access keys, and buckets, kept per snapshot


class Snapshot:
    """What the decisions of one store generation use: the engine and the caches that
    fill it. Replaced as a whole, never emptied in place, when the generation changes;
    a request that holds one decides with it alone."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.engine = Engine()
        self.users: dict[str, Identity] = {}  # access key -> identity (known keys only)
        self.buckets: dict[str, str | None] = {}  # bucket -> engine name of its policy
        self.sessions: dict[str, Identity] = {}  # session token -> identity, once opened
        self.session_policies: set[str] = set()  # engine names of sessions' inline policies

    def remember_session(self, token: str, identity: Identity) -> None:
        if len(self.sessions) >= MAX_OPEN_SESSIONS:
            self.sessions.clear()
            for name in self.session_policies:  # an identity in use puts its own back
                self.engine.remove(name)
            self.session_policies.clear()
        self.sessions[token] = identity


def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
    if len(cache) >= MAX_CACHED:
        cache.clear()
    cache[key] = value


def _as_dn(subject: str) -> str | None:
    """`subject` normalised as an LDAP DN; None when it is not one."""
    try:
        return normalise_dn(subject)
    except ValueError:
        return None


def session_policy_name(document: str) -> str:
    return "session:" + hashlib.sha256(document.encode()).hexdigest()


class Access:
    def __init__(
        self, repo: Repository, tokens: SessionTokens, root_access_key: str, root_secret_key: str
    ) -> None:
        self.repo = repo
        self.tokens = tokens
        self.account_id = repo.account_id
        self._root = root_identity(self.account_id, root_access_key, root_secret_key)
        self._local_store = repo.is_local
        self._revocations: list[Any] = []
        self._revocations_read = 0.0  # a revocation is a store write: re-read at once
        self._revoked_dns: dict[str, str | None] = {}  # "user" subjects read as DNs
        self._snapshot = Snapshot(-1)
        # The snapshot of the request running in this context (task or its threads).
        self._pinned: ContextVar[Snapshot | None] = ContextVar(
            f"iamgw_access_{id(self)}", default=None
        )

    def snapshot(self) -> Snapshot:
        """The snapshot this request decides with: the one its `refresh()` found (the
        latest one for a caller that never refreshed)."""
        pinned = self._pinned.get()
        return pinned if pinned is not None else self._snapshot

    @property
    def engine(self) -> Engine:
        """The engine of this request's snapshot, with what its decisions loaded."""
        return self.snapshot().engine

    async def refresh(self) -> int:
        """Start a new snapshot when the store changed since the last request, and make
        the current one this request's; returns the store's generation (other caches
        key on it too)."""
        if self._local_store:
            # A local SQLite read (~0.1 ms) costs less than the hop to a worker thread.
            generation = self.repo.generation()
        else:
            generation = await run_in_threadpool(self.repo.generation)
        snapshot = self._snapshot
        if generation != snapshot.generation:
            snapshot = self._snapshot = Snapshot(generation)
            self._revocations_read = 0.0
        self._pinned.set(snapshot)
        return generation

    # -- identities -----------------------------------------------------------

    async def resolve(self, access_key: str, token: str | None) -> Identity:
        """The identity of a signed request's access key (and session token)."""
        if is_root_key(access_key, self._root.access_key):
            return self._root
        snapshot = self.snapshot()
        if token or access_key.startswith("ASIA"):
            return await self._session(snapshot, access_key, token or "")
        identity = snapshot.users.get(access_key)
        if identity is None:
            identity = await run_in_threadpool(self._load_user, access_key)
            if identity is None:
                raise InvalidAccessKeyId()  # not remembered: anyone can send any key
            _remember(snapshot.users, access_key, identity)
        return identity

    def _load_user(self, access_key: str) -> Identity | None:
        found = self.repo.find_access_key(access_key)
        if found is None or found[0].status != "Active":
            return None
        key, secret = found
        try:
            return user_identity(self.repo, access_key, secret, key.user_name)
        except NoSuchEntity:
            return None

    async def _session(self, snapshot: Snapshot, access_key: str, token: str) -> Identity:
        known = snapshot.sessions.get(token)
        if (
            known is not None
            and known.session is not None
            and hmac.compare_digest(known.access_key.encode(), access_key.encode())
            and time.time() < known.session.exp
        ):
            identity = known  # opened before: the same token, key and claims
        else:
            if known is not None:
                snapshot.sessions.pop(token, None)  # expired, or not this key's token
            identity = self._open_session(snapshot, access_key, token)
            current = await run_in_threadpool(current_grant, self.repo, identity.session)
            if current is not None:
                # The role's or user's policies as they are now, not as they were when
                # the session was issued: a detached policy stops applying at once.
                identity = replace(identity, policies=current[0], boundary=current[1])
        assert identity.session is not None
        if await self._revoked(identity.session):
            snapshot.sessions.pop(token, None)
            raise InvalidToken("The provided token has been revoked.")
        if identity is not known:
            # Only a token that opened under the master key gets here: one this gateway
            # issued for this very access key.
            snapshot.remember_session(token, identity)
        return identity

    def _open_session(self, snapshot: Snapshot, access_key: str, token: str) -> Identity:
        try:
            claims = self.tokens.open(token, access_key)
        except TokenExpired:
            raise ExpiredToken() from None
        except TokenError:
            raise InvalidToken() from None
        session_name = None
        if claims.sp:
            session_name = session_policy_name(claims.sp)
            self._put_session_policy(snapshot, session_name, claims.sp)
        return session_identity(self.account_id, claims, session_name)

    def _put_session_policy(self, snapshot: Snapshot, name: str, document: str) -> None:
        if snapshot.engine.get(name) is None:
            self._put(snapshot, name, document, PolicyKind.SESSION)
            snapshot.session_policies.add(name)

    async def _revoked(self, claims: SessionClaims) -> bool:
        now = time.monotonic()
        if now - self._revocations_read >= REVOCATION_REFRESH_SECONDS:
            self._revocations = await run_in_threadpool(self.repo.revocations)
            self._revoked_dns = {}
            self._revocations_read = now
        for entry in self._revocations:
            before = entry.issued_before.timestamp() if entry.issued_before else None
            if entry.kind == "session" and entry.subject == claims.sid:
                return True
            # "user": the session's own ARN, its role or IAM user, or the federated
            # user (its unique id, its token's subject, its LDAP user name or DN): one
            # OIDC or LDAP user, not a provider.
            subjects = (
                claims.arn,
                claims.src,
                claims.uid,
                claims.idp.get("jwt:sub"),
                claims.idp.get("ldap:username"),
            )
            by_user = entry.kind == "user" and (
                entry.subject in subjects or self._same_dn(entry.subject, claims)
            )
            if by_user and (before is None or claims.iat <= before):
                return True
            if entry.kind == "before" and before is not None and claims.iat < before:
                return True
        return False

    def _same_dn(self, subject: str, claims: SessionClaims) -> bool:
        """Whether a "user" revocation names the session's LDAP user by DN (in any of the
        DN's forms: the session holds it normalised)."""
        user = claims.idp.get("ldap:user")
        if user is None or "=" not in subject or subject.startswith("arn:"):
            return False  # (only an LDAP session needs python-ldap's DN parser)
        if subject not in self._revoked_dns:
            self._revoked_dns[subject] = _as_dn(subject)
        return self._revoked_dns[subject] == user

    # -- decisions ------------------------------------------------------------

    async def decide(
        self,
        identity: Identity,
        action: str,
        resource: str,
        context: Mapping[str, Any],
        bucket: str | None = None,
    ) -> Decision:
        """Decide one action of `identity` on `resource`, with the bucket's policy if any.

        One snapshot from the first load to the evaluation: whatever a store write
        elsewhere does meanwhile, the policies loaded are the policies evaluated."""
        snapshot = self.snapshot()
        await self._ensure(snapshot, identity)
        bucket_policy = None
        if bucket:
            # An anonymous caller may name any bucket: only what exists is remembered.
            authenticated = identity.arn is not None
            bucket_policy = await self._bucket_policy(snapshot, bucket, authenticated)
        request = Request(action, resource, identity.arn, {**identity.context(), **context})
        decision = snapshot.engine.evaluate(
            request,
            identity.policies,
            bucket_policy,
            boundary=identity.boundary,
            session_policy=identity.session_policies or None,
        )
        count_decision(decision)
        return decision

    async def _ensure(self, snapshot: Snapshot, identity: Identity) -> None:
        """Load the identity's policies into the snapshot's engine (a session's inline
        policy from its token: the identity may come from an older snapshot)."""
        names = [*identity.policies, *identity.session_policies]
        if identity.boundary:
            names.append(identity.boundary)
        missing = [n for n in names if snapshot.engine.get(n) is None]
        stored = [n for n in missing if not n.startswith("session:")]
        if len(stored) < len(missing):
            document = identity.session.sp if identity.session is not None else ""
            if document and session_policy_name(document) in missing:
                self._put_session_policy(snapshot, session_policy_name(document), document)
        if stored:
            for name, document in await run_in_threadpool(self.documents, stored):
                kind = PolicyKind.BOUNDARY if name == identity.boundary else PolicyKind.IDENTITY
                self._put(snapshot, name, document, kind)

    def documents(self, names: list[str]) -> list[tuple[str, str]]:
        """(engine name, document) of the policies `names` that still exist."""
        out = []
        for name in names:
            try:
                if name.startswith("inline:"):
                    ptype, _, rest = name[len("inline:") :].partition("/")
                    principal, _, policy = rest.partition("/")
                    out.append((name, self.repo.get_inline_policy(ptype, principal, policy)))
                else:
                    out.append((name, self.repo.policy_document(name)))
            except NoSuchEntity:
                continue  # detached or deleted meanwhile: contributes nothing
        return out

    async def bucket_policy_name(self, bucket: str) -> str | None:
        """The engine name of the bucket's policy in this request's snapshot (None: none)."""
        return await self._bucket_policy(self.snapshot(), bucket, remember_absent=True)

    async def _bucket_policy(
        self, snapshot: Snapshot, bucket: str, remember_absent: bool
    ) -> str | None:
        if bucket in snapshot.buckets:
            return snapshot.buckets[bucket]
        document = await run_in_threadpool(self.repo.get_bucket_policy, bucket)
        name = None
        if document is not None:
            name = f"bucket:{bucket}"
            self._put(snapshot, name, document, PolicyKind.RESOURCE)
        if name is not None or remember_absent:
            _remember(snapshot.buckets, bucket, name)
        return name

    def _put(self, snapshot: Snapshot, name: str, document: str, kind: PolicyKind) -> None:
        try:
            # Stored documents were validated when written; one that a newer validator
            # refuses is left out (and logged) rather than failing every request.
            snapshot.engine.put(name, document, kind)
        except MalformedPolicyDocument as exc:
            log.error("stored policy %s is not valid any more and is ignored: %s", name, exc)
