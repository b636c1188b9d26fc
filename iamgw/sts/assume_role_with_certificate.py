"""AssumeRoleWithCertificate (MinIO): temporary credentials for a TLS client certificate.

https://min.io/docs/minio/linux/developers/security-token-service/AssumeRoleWithCertificate.html
The call is not signed: the client certificate presented in the TLS handshake is the
proof (`POST /?Action=AssumeRoleWithCertificate&Version=2011-06-15[&DurationSeconds=N]`,
as `curl --cert --key` and the MinIO SDKs' CertificateIdentityProvider send it).

- The gateway asks for a client certificate when `[server] tls_client_ca` is set, and
  OpenSSL verifies its chain to that CA during the handshake (`iamgw.http_server`): a
  certificate of a foreign CA ends the handshake. Its validity dates are checked here,
  so that an expired certificate gets AccessDenied.
- The subject's common name (CN) names the session's policy, a canned or managed policy
  of the store: `CN=readonly` gets `readonly`. A CN naming no policy is refused.
- The session is `assumed-role/certificate/CN`; it lasts DurationSeconds (within
  `[sts]`'s bounds), never beyond the certificate's own expiry.

No certificate, a request that did not come over the gateway's own TLS (a proxy's
terminated TLS carries no certificate to here), an expired certificate or one without a
usable CN get AccessDenied.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import AccessDenied, InvalidAction
from iamgw.gateway import gateway_of
from iamgw.identity import FEDERATED_ROLE_PATH
from iamgw.ops import audit_fields

from .federation import Catalog
from .response import answer
from .session import Grant, default_session_name, duration, issue, packed_percent, session_policies

ACTION = "AssumeRoleWithCertificate"
ROLE_NAME = "certificate"  # the session is assumed-role/certificate/CN
MAX_POLICY_NAME = 128  # IAM's limit on a policy name
REFUSED = f"Not authorized to perform sts:{ACTION}"


async def handle(request: Request, params: dict[str, str]) -> Response:
    gateway = gateway_of(request)
    settings = gateway.settings
    if not settings.server.tls_client_ca:
        raise InvalidAction(f"{ACTION} needs [server] tls_client_ca in the gateway's settings.")
    certificate = client_certificate(request)
    now = datetime.now(UTC)
    if now < certificate.not_valid_before_utc:
        raise AccessDenied(f"{REFUSED}: the client certificate is not valid yet.")
    remaining = int((certificate.not_valid_after_utc - now).total_seconds())
    if remaining < 1:
        raise AccessDenied(f"{REFUSED}: the client certificate has expired.")
    name = common_name(certificate)
    policies = await session_policies(params, gateway.repo)
    catalog = await Catalog.current(request, gateway.repo)
    if not await catalog.existing(gateway.repo, [name]):
        raise AccessDenied(f"{REFUSED}: no policy is named by the certificate's subject CN.")
    sts = settings.sts
    seconds = duration(
        params, sts.min_duration_seconds, sts.default_duration_seconds, sts.max_duration_seconds
    )
    seconds = min(seconds, remaining)  # never beyond the certificate
    grant = certificate_grant(settings.server.account_id, name)
    packed = packed_percent(policies, {}) if policies.document or policies.arns else None
    issued = issue(gateway.tokens, grant, seconds, policies)
    audit_fields(request).update(
        principal=grant.arn,
        access_key=issued.claims.ak,
        certificate_serial=format(certificate.serial_number, "x"),
    )
    result: dict[str, Any] = {
        "Credentials": issued.credentials(),
        "AssumedRoleUser": {"Arn": grant.arn, "AssumedRoleId": grant.uid},
        "PackedPolicySize": packed,
    }
    return answer(request, ACTION, result)


def client_certificate(request: Request) -> x509.Certificate:
    """The verified client certificate of the request's TLS connection (ASGI's TLS
    extension, which `iamgw.http_server` fills over the gateway's own TLS only)."""
    if request.scope.get("scheme") != "https":
        raise AccessDenied(f"{REFUSED}: the request must come over TLS with a client certificate.")
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        raise AccessDenied(f"{REFUSED}: no client certificate was presented.")
    try:
        return x509.load_pem_x509_certificate(chain[0].encode())
    except ValueError:  # verified by OpenSSL, so not expected: refused all the same
        raise AccessDenied(f"{REFUSED}: the client certificate cannot be read.") from None


def common_name(certificate: x509.Certificate) -> str:
    """The subject's one CN: the name of the session's policy."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if len(names) == 1 else None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_POLICY_NAME:
        raise AccessDenied(f"{REFUSED}: the certificate needs one subject CN naming a policy.")
    return value


def certificate_role_arn(account_id: str) -> str:
    """The made-up role of certificate sessions: what `iamgw revoke --user` names to end
    every one of them (the path of the federated roles: not a stored role)."""
    return f"arn:aws:iam::{account_id}:role{FEDERATED_ROLE_PATH}{ROLE_NAME}"


def certificate_grant(account_id: str, policy: str) -> Grant:
    session = default_session_name(policy)
    role_id = "AROA" + hashlib.sha256(ROLE_NAME.encode()).hexdigest()[:17].upper()
    return Grant(
        arn=f"arn:aws:sts::{account_id}:assumed-role/{ROLE_NAME}/{session}",
        typ="AssumedRole",
        src=certificate_role_arn(account_id),
        uid=f"{role_id}:{session}",
        pol=(policy,),
    )
