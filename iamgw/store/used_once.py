"""Values that may be used only once (a console login's `state`), shared by replicas."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from . import database
from .base import RepositoryBase
from .tables import UsedOnce as UsedOnceRow
from .tables import utcnow


class UsedOnce(RepositoryBase):
    def use_once(self, kind: str, value: str, expires: datetime) -> bool:
        """Mark `value` used; False when it already was (by this or another replica).
        Only a digest is kept; expired marks are dropped on the way. No generation bump:
        nothing cached depends on these rows."""
        digest = hashlib.sha256(value.encode()).hexdigest()
        row = UsedOnceRow(account_id=self.account_id, kind=kind, value=digest, expires=expires)
        try:
            with database.transaction(self.engine) as s:
                s.exec(delete(UsedOnceRow).where(UsedOnceRow.expires <= utcnow()))
                s.add(row)
        except IntegrityError:
            return False
        return True
