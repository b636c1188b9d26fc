"""Access: resolve the caller's identity and decide its requests with the store's policies.

Policies are loaded from the store into one `iamgw.policy.Engine` on first use.
Every request first reads the store's generation counter (one small query);
when another call or another replica changed anything, every cache here is
dropped, so a change takes effect on the very next request everywhere. The
revocation deny-list is re-read at most once a second.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool

from iamgw.errors import ExpiredToken, InvalidAccessKeyId, InvalidToken
from iamgw.identity.credentials import SessionClaims, SessionTokens, TokenError, TokenExpired
from iamgw.identity.principals import (
    Identity,
    current_grant,
    is_root_key,
    root_identity,
    session_identity,
    user_identity,
)
from iamgw.policy import Decision, Engine, MalformedPolicyDocument, PolicyKind, Request
from iamgw.store import NoSuchEntity, Repository

log = logging.getLogger("iamgw.access")
REVOCATION_REFRESH_SECONDS = 1.0
MAX_OPEN_SESSIONS = 10_000  # opened session tokens kept (decrypting one costs ~0.1 ms)


class Access:
    def __init__(
        self, repo: Repository, tokens: SessionTokens, root_access_key: str, root_secret_key: str
    ) -> None:
        self.repo = repo
        self.tokens = tokens
        self.account_id = repo.account_id
        self._root = root_identity(self.account_id, root_access_key, root_secret_key)
        self._generation = -1
        self._local_store = repo.engine.dialect.name == "sqlite"
        self._revocations: list[Any] = []
        self._reset()

    def _reset(self) -> None:
        self.engine = Engine()
        self._users: dict[str, Identity | None] = {}  # access key -> identity (None: unknown)
        self._buckets: dict[str, str | None] = {}  # bucket -> engine name of its policy
        self._sessions: dict[str, Identity] = {}  # session token -> identity, once opened
        self._revocations_read = 0.0  # a revocation is a store write: re-read at once

    async def refresh(self) -> int:
        """Drop every cache when the store changed since the last request; returns the
        store's generation (other caches key on it too)."""
        if self._local_store:
            # A local SQLite read (~0.1 ms) costs less than the hop to a worker thread.
            generation = self.repo.generation()
        else:
            generation = await run_in_threadpool(self.repo.generation)
        if generation != self._generation:
            self._generation = generation
            self._reset()
        return generation

    # -- identities -----------------------------------------------------------

    async def resolve(self, access_key: str, token: str | None) -> Identity:
        """The identity of a signed request's access key (and session token)."""
        if is_root_key(access_key, self._root.access_key):
            return self._root
        if token or access_key.startswith("ASIA"):
            return await self._session(access_key, token or "")
        if access_key not in self._users:
            self._users[access_key] = await run_in_threadpool(self._load_user, access_key)
        identity = self._users[access_key]
        if identity is None:
            raise InvalidAccessKeyId()
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

    async def _session(self, access_key: str, token: str) -> Identity:
        known = self._sessions.get(token)
        if (
            known is not None
            and known.session is not None
            and hmac.compare_digest(known.access_key.encode(), access_key.encode())
            and time.time() < known.session.exp
        ):
            identity = known  # opened before: the same token, key and claims
        else:
            identity = self._open_session(access_key, token)
            current = await run_in_threadpool(current_grant, self.repo, identity.session)
            if current is not None:
                # The role's or user's policies as they are now, not as they were when
                # the session was issued: a detached policy stops applying at once.
                identity = replace(identity, policies=current[0], boundary=current[1])
                self._sessions[token] = identity
        assert identity.session is not None
        if await self._revoked(identity.session):
            raise InvalidToken("The provided token has been revoked.")
        return identity

    def _open_session(self, access_key: str, token: str) -> Identity:
        try:
            claims = self.tokens.open(token, access_key)
        except TokenExpired:
            raise ExpiredToken() from None
        except TokenError:
            raise InvalidToken() from None
        session_name = None
        if claims.sp:
            session_name = "session:" + hashlib.sha256(claims.sp.encode()).hexdigest()
            if self.engine.get(session_name) is None:
                self._put(session_name, claims.sp, PolicyKind.SESSION)
        identity = session_identity(self.account_id, claims, session_name)
        if len(self._sessions) >= MAX_OPEN_SESSIONS:
            self._sessions.clear()
        self._sessions[token] = identity
        return identity

    async def _revoked(self, claims: SessionClaims) -> bool:
        now = time.monotonic()
        if now - self._revocations_read >= REVOCATION_REFRESH_SECONDS:
            self._revocations = await run_in_threadpool(self.repo.revocations)
            self._revocations_read = now
        for entry in self._revocations:
            before = entry.issued_before.timestamp() if entry.issued_before else None
            if entry.kind == "session" and entry.subject == claims.sid:
                return True
            # "user": the session's own ARN, its role or IAM user, or the federated
            # user (its unique id or its token's subject): one OIDC user, not a provider.
            subjects = (claims.arn, claims.src, claims.uid, claims.idp.get("jwt:sub"))
            by_user = entry.kind == "user" and entry.subject in subjects
            if by_user and (before is None or claims.iat <= before):
                return True
            if entry.kind == "before" and before is not None and claims.iat < before:
                return True
        return False

    # -- decisions ------------------------------------------------------------

    async def decide(
        self,
        identity: Identity,
        action: str,
        resource: str,
        context: Mapping[str, Any],
        bucket: str | None = None,
    ) -> Decision:
        """Decide one action of `identity` on `resource`, with the bucket's policy if any."""
        await self._ensure(identity)
        bucket_policy = await self.bucket_policy_name(bucket) if bucket else None
        request = Request(action, resource, identity.arn, {**identity.context(), **context})
        return self.engine.evaluate(
            request,
            identity.policies,
            bucket_policy,
            boundary=identity.boundary,
            session_policy=identity.session_policies or None,
        )

    async def _ensure(self, identity: Identity) -> None:
        names = [*identity.policies, *identity.session_policies]
        if identity.boundary:
            names.append(identity.boundary)
        missing = [n for n in names if self.engine.get(n) is None and not n.startswith("session:")]
        if missing:
            for name, document in await run_in_threadpool(self._documents, missing):
                kind = PolicyKind.BOUNDARY if name == identity.boundary else PolicyKind.IDENTITY
                self._put(name, document, kind)

    def _documents(self, names: list[str]) -> list[tuple[str, str]]:
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
        if bucket not in self._buckets:
            document = await run_in_threadpool(self.repo.get_bucket_policy, bucket)
            name = None
            if document is not None:
                name = f"bucket:{bucket}"
                self._put(name, document, PolicyKind.RESOURCE)
            self._buckets[bucket] = name
        return self._buckets[bucket]

    def _put(self, name: str, document: str, kind: PolicyKind) -> None:
        try:
            # Stored documents were validated when written; one that a newer validator
            # refuses is left out (and logged) rather than failing every request.
            self.engine.put(name, document, kind)
        except MalformedPolicyDocument as exc:
            log.error("stored policy %s is not valid any more and is ignored: %s", name, exc)
