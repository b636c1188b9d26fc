"""The deny-list of revoked temporary credentials."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import select

from . import database
from .base import RepositoryBase
from .errors import InvalidInput
from .tables import RevokedSession, utcnow


class Revocations(RepositoryBase):
    def revoke(
        self,
        kind: str,
        subject: str = "",
        issued_before: datetime | None = None,
        max_lifetime: timedelta = timedelta(hours=36),
    ) -> None:
        """Deny-list a session id, a principal ARN, or everything issued before a time.
        Entries expire once no credential they could hit can still be valid."""
        if kind not in ("session", "user", "before"):
            raise InvalidInput("kind must be session, user or before")
        now = utcnow()
        with self._write() as s:
            s.add(
                RevokedSession(
                    account_id=self.account_id,
                    kind=kind,
                    subject=subject,
                    issued_before=issued_before or now,
                    expires=now + max_lifetime,
                )
            )

    def revocations(self) -> list[RevokedSession]:
        """The live deny-list (expired entries are dropped by `prune_revocations`)."""
        with self._read() as s:
            stmt = select(RevokedSession).where(
                RevokedSession.account_id == self.account_id, RevokedSession.expires > utcnow()
            )
            return list(s.exec(stmt))

    def prune_revocations(self) -> int:
        with database.transaction(self.engine) as s:  # expired entries: no generation bump
            result = s.exec(delete(RevokedSession).where(RevokedSession.expires <= utcnow()))
            return int(result.rowcount or 0)
