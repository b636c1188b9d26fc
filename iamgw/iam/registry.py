"""The table of IAM actions: name -> handler. Each module registers its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .call import Call

Handler = Callable[[Call], dict[str, Any] | None]
ACTIONS: dict[str, Handler] = {}


def action(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ACTIONS[name] = handler
        return handler

    return register


class SummaryMap(dict[str, int]):
    """A map result: rendered as `<entry><key/><value/></entry>` items (Query protocol)."""


def tag_context(tags: dict[str, str]) -> dict[str, Any]:
    """`aws:RequestTag/K` and `aws:TagKeys` of a call that sets tags."""
    ctx: dict[str, Any] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        ctx["aws:TagKeys"] = list(tags)
    return ctx
