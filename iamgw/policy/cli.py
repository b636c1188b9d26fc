"""``iamgw policy check`` and ``iamgw policy eval`` (DESIGN.md §2).

The main ``iamgw`` command mounts these with::

    policy = sub.add_parser("policy", help="check and evaluate IAM policies")
    register(policy.add_subparsers(dest="policy_command", required=True))
    args = parser.parse_args(); raise SystemExit(args.func(args))

Each subcommand sets ``func(args) -> int``, the exit code: ``check`` 0 when every
file is valid, 1 when one is not; ``eval`` 0 allowed, 1 denied; 2 for a usage error
(also an unreadable file or, for ``eval``, an invalid policy). Standalone:
``python -m iamgw.policy.cli check FILE...``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .document import Policy, PolicyKind, parse_policy
from .errors import MalformedPolicyDocument
from .evaluate import evaluate
from .request import Request

USAGE_ERROR = 2
DEFAULT_PRINCIPAL = "arn:aws:iam::000000000000:user/policy-eval"


class UsageError(Exception):
    pass


def register(subparsers: Any) -> None:
    """Add ``check`` and ``eval`` to an argparse subparsers object."""
    kinds = [k.value for k in PolicyKind]
    check = subparsers.add_parser(
        "check",
        help="validate policy documents",
        description="Validate policy documents as IAM does; report faults with JSON paths.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="policy document (JSON)")
    check.add_argument("--kind", choices=kinds, default="identity", help="policy type")
    check.set_defaults(func=run_check)

    ev = subparsers.add_parser(
        "eval",
        help="decide a request against policies",
        description="Decide a request against identity policies (and optionally a "
        "resource policy, a permissions boundary, a session policy); print the decision "
        "and the deciding statement.",
    )
    ev.add_argument(
        "--policy",
        action="extend",
        nargs="+",
        required=True,
        metavar="FILE",
        help="identity policy document(s)",
    )
    ev.add_argument("--action", required=True, help="e.g. s3:GetObject")
    ev.add_argument("--resource", required=True, metavar="ARN", help="e.g. arn:aws:s3:::b/k")
    ev.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="request context key (repeat a key for a multi-valued key)",
    )
    ev.add_argument(
        "--principal",
        default=DEFAULT_PRINCIPAL,
        metavar="ARN",
        help=f"principal ARN (default {DEFAULT_PRINCIPAL}); 'anonymous' for none",
    )
    ev.add_argument("--resource-policy", metavar="FILE", help="resource-based policy")
    ev.add_argument("--boundary", metavar="FILE", help="permissions boundary")
    ev.add_argument("--session-policy", metavar="FILE", help="session policy")
    ev.set_defaults(func=run_eval)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from exc


def run_check(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    invalid = False
    for path in args.files:
        try:
            text = _read(path)
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return USAGE_ERROR
        try:
            parse_policy(text, args.kind, name=path)
        except MalformedPolicyDocument as exc:
            invalid = True
            where = f"{exc.path}: " if exc.path else ""
            print(f"{path}: {where}{exc.code}: {exc.message}", file=out)
        else:
            print(f"{path}: valid {args.kind} policy", file=out)
    return 1 if invalid else 0


def _load(path: str, kind: PolicyKind) -> Policy:
    try:
        return parse_policy(_read(path), kind, name=Path(path).name)
    except MalformedPolicyDocument as exc:
        where = f"{exc.path}: " if exc.path else ""
        raise UsageError(f"{path}: {where}{exc.code}: {exc.message}") from exc


def _context(pairs: Sequence[str]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(f"--context {pair!r}: expected KEY=VALUE")
        context.setdefault(key, []).append(value)
    return context


def run_eval(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        identity = [_load(p, PolicyKind.IDENTITY) for p in args.policy]
        resource = (
            _load(args.resource_policy, PolicyKind.RESOURCE) if args.resource_policy else None
        )
        boundary = [_load(args.boundary, PolicyKind.BOUNDARY)] if args.boundary else []
        session = [_load(args.session_policy, PolicyKind.SESSION)] if args.session_policy else []
        context = _context(args.context)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    principal = None if args.principal == "anonymous" else args.principal
    ctx = {k: v[0] if len(v) == 1 else v for k, v in context.items()}
    request = Request(args.action, args.resource, principal, ctx)
    decision = evaluate(request, identity, resource, boundaries=boundary, session_policies=session)
    print(decision.explain(), file=out)
    return 0 if decision.allowed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iamgw policy", description="Check and evaluate AWS IAM policy documents."
    )
    register(parser.add_subparsers(dest="policy_command", required=True, metavar="COMMAND"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
