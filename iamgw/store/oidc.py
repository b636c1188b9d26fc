"""IAM OpenID Connect provider objects (CreateOpenIDConnectProvider and the rest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, select

from .base import RepositoryBase
from .errors import EntityAlreadyExists, InvalidInput, NoSuchEntity
from .tables import OidcProvider


class OidcProviders(RepositoryBase):
    def oidc_provider_arn(self, url: str) -> str:
        return f"arn:aws:iam::{self.account_id}:oidc-provider/{url}"

    def create_oidc_provider(
        self,
        url: str,
        client_ids: list[str],
        thumbprints: list[str],
        tags: dict[str, str] | None = None,
    ) -> OidcProvider:
        """`url` is the issuer without its scheme (host and path), as IAM keys it."""
        row = OidcProvider(
            account_id=self.account_id,
            url=url,
            client_ids=list(client_ids),
            thumbprints=list(thumbprints),
            tags=dict(tags or {}),
        )
        with self._write() as s:
            if s.get(OidcProvider, (self.account_id, url)) is not None:
                raise EntityAlreadyExists(f"Provider with url https://{url} already exists.")
            s.add(row)
        return row

    def get_oidc_provider(self, url: str) -> OidcProvider:
        with self._read() as s:
            return self._provider(s, url)

    def list_oidc_providers(self) -> list[OidcProvider]:
        with self._read() as s:
            stmt = select(OidcProvider).where(OidcProvider.account_id == self.account_id)
            return list(s.exec(stmt.order_by(OidcProvider.url)))

    def update_oidc_provider(self, url: str, **changes: Any) -> OidcProvider:
        allowed = {"client_ids", "thumbprints", "tags"}
        if not set(changes) <= allowed:
            raise InvalidInput(f"cannot change {sorted(set(changes) - allowed)}")
        with self._write() as s:
            row = self._provider(s, url)
            for key, value in changes.items():
                setattr(row, key, value)
            s.add(row)
            return row

    def edit_oidc_provider(self, url: str, edit: Callable[[OidcProvider], None]) -> OidcProvider:
        """Read, change (`edit` mutates the row) and write a provider in one transaction."""
        with self._write() as s:
            row = self._provider(s, url)
            s.lock(row)
            edit(row)
            for column in ("client_ids", "thumbprints", "tags"):
                flag_modified(row, column)  # JSON columns changed in place are written too
            s.add(row)
            return row

    def delete_oidc_provider(self, url: str) -> None:
        with self._write() as s:
            s.delete(self._provider(s, url))

    def _provider(self, s: Session, url: str) -> OidcProvider:
        row = s.get(OidcProvider, (self.account_id, url))
        if row is None:
            raise NoSuchEntity(
                f"OpenIDConnect Provider not found for arn {self.oidc_provider_arn(url)}"
            )
        return row
