"""An index of statements by action, so that a request only looks at the statements
that can apply to its action (and its service), never at the rest.

Exact actions are looked up in a dict, patterns with a fixed service prefix in that
service's list, and only the statements with a wildcard service or a NotAction are
looked at for every request.
"""

from __future__ import annotations

from collections.abc import Iterable

from .statement import Statement


class StatementIndex:
    __slots__ = ("exact", "by_service", "anywhere", "size")

    def __init__(self, statements: Iterable[Statement]) -> None:
        self.exact: dict[str, list[Statement]] = {}
        self.by_service: dict[str, list[Statement]] = {}
        self.anywhere: list[Statement] = []
        self.size = 0
        for st in statements:
            self.size += 1
            if st.not_action:
                self.anywhere.append(st)
                continue
            services: set[str] = set()
            exacts: set[str] = set()
            wild = False
            for pattern in st.actions:
                if pattern.exact is not None:
                    exacts.add(pattern.exact)
                elif pattern.service is not None:
                    services.add(pattern.service)
                else:
                    wild = True
            if wild:
                self.anywhere.append(st)
                continue
            for service in sorted(services):
                self.by_service.setdefault(service, []).append(st)
            for action in sorted(exacts):
                # A statement also listed for its service is checked there already.
                if action.partition(":")[0] not in services:
                    self.exact.setdefault(action, []).append(st)

    def candidates(self, action: str, service: str) -> list[Statement]:
        """The statements whose Action may match `action` (lower case), in document order."""
        exact = self.exact.get(action)
        by_service = self.by_service.get(service)
        anywhere = self.anywhere
        if by_service is None and not anywhere:
            return exact or []
        if exact is None and not anywhere:
            return by_service or []
        out = (exact or []) + (by_service or []) + anywhere
        out.sort(key=_index)
        return out


def _index(st: Statement) -> int:
    return st.index
