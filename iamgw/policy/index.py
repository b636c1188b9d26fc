"""An index of statements by action, so that a request only looks at the statements
that can apply to its action (and its service), never at the rest.

Exact actions are looked up in a dict, patterns with a fixed service prefix in that
service's list, and only the statements with a wildcard service or a NotAction are
looked at for every request.
"""

from __future__ import annotations

from collections.abc import Iterable

from .request import Request
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

    def find(self, request: Request) -> Statement | None:
        """The first statement that applies to the request (principal aside): those
        listed under the exact action first, then the service's, then the rest."""
        action = request.action_lower
        exact = self.exact.get(action)
        if exact:
            for st in exact:
                if st.applies_to_resource(request):
                    return st
        by_service = self.by_service.get(request.service)
        if by_service:
            for st in by_service:
                if st.matches_action(action) and st.applies_to_resource(request):
                    return st
        for st in self.anywhere:
            if st.matches_action(action) and st.applies_to_resource(request):
                return st
        return None

    def find_all(self, request: Request) -> list[Statement]:
        """Every statement that applies to the request (principal aside)."""
        action = request.action_lower
        out = [st for st in self.exact.get(action, ()) if st.applies_to_resource(request)]
        for group in (self.by_service.get(request.service, ()), self.anywhere):
            out += [st for st in group if st.applies(request)]
        return out
