"""Tags of users, roles and managed policies (IAM quota: 50 a resource)."""

from __future__ import annotations

from collections.abc import Iterable

from .errors import LimitExceeded
from .tables import ManagedPolicy, Role, User

MAX_TAGS = 50  # IAM quota: tags per user, role or managed policy


def add_tags(row: User | Role | ManagedPolicy, tags: dict[str, str]) -> None:
    """Add or overwrite tags; LimitExceeded (TagsPerUser, ...) past the quota."""
    row.tags = {**row.tags, **tags}
    if len(row.tags) > MAX_TAGS:
        raise LimitExceeded(f"Cannot exceed quota for TagsPer{_kind(row)}: {MAX_TAGS}.")


def remove_tags(row: User | Role | ManagedPolicy, keys: Iterable[str]) -> None:
    drop = set(keys)
    row.tags = {k: v for k, v in row.tags.items() if k not in drop}


def _kind(row: User | Role | ManagedPolicy) -> str:
    return "Policy" if isinstance(row, ManagedPolicy) else type(row).__name__
