"""The users and trust policies the tests make, one helper each for every package.

A user is made through a test gateway's repository (as an admin with the database would)
or through the IAM API (as root or a user with IAM permissions would): pass the gateway or
an IAM client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.gateway_server import GatewayServer
from tests.peers import OidcProvider

ACCOUNT = "000000000000"


@dataclass(frozen=True)
class Keys:
    key: str
    secret: str
    arn: str = ""


def make_user(
    through: Any,
    name: str,
    *,
    managed: Sequence[str] = (),
    inline: str | Mapping[str, Any] | None = None,
    boundary: str | None = None,
) -> Keys:
    """A user `name` with an access key, the `managed` policies (ARNs) attached, the
    `inline` policy (a document or its text) and the permissions `boundary` (an ARN);
    `through` is a `GatewayServer` (its repository) or a boto3 IAM client."""
    document = inline if inline is None or isinstance(inline, str) else json.dumps(inline)
    if isinstance(through, GatewayServer):
        repo = through.repo
        repo.create_user(name)
        for arn in managed:
            repo.attach_policy("user", name, arn)
        if document is not None:
            repo.put_inline_policy("user", name, "inline", document)
        if boundary is not None:
            repo.set_permissions_boundary("user", name, boundary)
        key, secret = repo.create_access_key(name)
        return Keys(key.access_key_id, secret, f"arn:aws:iam::{ACCOUNT}:user/{name}")
    iam = through
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    for policy in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=policy)
    if document is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=document)
    if boundary is not None:
        iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    created = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(created["AccessKeyId"], created["SecretAccessKey"], arn)


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> str:
    """A policy (JSON text) of one statement allowing `action` on `resource`."""
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def trust(
    principal: str | Mapping[str, Any],
    actions: str | Sequence[str] = "sts:AssumeRole",
    condition: Mapping[str, Any] | None = None,
) -> str:
    """A role's trust policy: one statement allowing `principal` (an AWS ARN, or the
    Principal element itself) the `actions`, under `condition` if given."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal} if isinstance(principal, str) else dict(principal),
        "Action": actions if isinstance(actions, str) else list(actions),
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def web_identity_trust(provider: OidcProvider, *also: str, **claims: str) -> str:
    """A trust policy for the ID tokens of `provider` whose `claims` (aud, sub, ...) have
    the given values, allowing AssumeRoleWithWebIdentity and the actions `also`."""
    host_path = provider.issuer.split("://", 1)[1]
    principal = {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host_path}"}
    actions = ["sts:AssumeRoleWithWebIdentity", *also]
    condition = {"StringEquals": {f"{host_path}:{k}": v for k, v in claims.items()}}
    return trust(principal, actions if also else actions[0], condition if claims else None)
