"""Canned policies: the files of `policies/`, loaded as managed policies at every start."""

from __future__ import annotations

from sqlmodel import Session, select

from . import database
from .base import RepositoryBase, new_id
from .errors import EntityAlreadyExists
from .policies import MAX_POLICY_VERSIONS, add_version, first_version, policy_named
from .tables import ManagedPolicy, PolicyVersion
from .txn import Unchanged


class Canned(RepositoryBase):
    def upsert_canned_policy(self, name: str, document: str, digest: str) -> str:
        """Load a file of `policies/`: created, updated (new default version), unchanged,
        or conflict when a same-named policy was created through the API.

        Every replica does this at every start, all at once when started together: the
        writes take turns (and re-read what the one before wrote), and a start that
        changes nothing writes nothing (no new generation, no cache dropped anywhere)."""
        with self._read() as s:
            found = policy_named(s, self.account_id, name)
            if found is not None and found.source != "canned":
                return "conflict"
            if found is not None and found.source_hash == digest:
                return "unchanged"
        attempts = 3
        while True:
            try:
                with self._write() as s:
                    database.xact_lock(s, database.STARTUP_LOCK)
                    return self._upsert_canned(s, name, document, digest)
            except Unchanged as kept:
                return kept.outcome  # rolled back: nothing to write after all
            except EntityAlreadyExists:
                # Created meanwhile by a writer that does not take turns (CreatePolicy):
                # read again and decide on what is there now.
                attempts -= 1
                if not attempts:
                    raise

    def _upsert_canned(self, s: Session, name: str, document: str, digest: str) -> str:
        policy = policy_named(s, self.account_id, name)
        if policy is None:
            policy = ManagedPolicy(
                account_id=self.account_id,
                name=name,
                name_key=name.lower(),
                policy_id=new_id("ANPA"),
                source="canned",
                source_hash=digest,
                description=f"iamgw canned policy {name}",
            )
            s.add(policy)
            s.add(first_version(policy, document))
            return "created"
        if policy.source != "canned":
            raise Unchanged("conflict")
        if policy.source_hash == digest:
            raise Unchanged("unchanged")
        versions = sorted(
            s.exec(select(PolicyVersion).where(PolicyVersion.policy_id == policy.policy_id)),
            key=lambda v: int(v.version_id[1:]),
        )
        old = [v for v in versions if v.version_id != policy.default_version]
        while len(versions) >= MAX_POLICY_VERSIONS and old:
            stale = old.pop(0)
            versions.remove(stale)
            s.delete(stale)
        policy.source_hash = digest
        add_version(s, policy, document, set_default=True)
        return "updated"
