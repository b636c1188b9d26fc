"""The gateway's shared parts, built once per process by the app's lifespan.

Every handler reaches them the same way, `gateway_of(request)`, typed: settings, the
store, the storage nodes, the decision point (`access`), the token sealer, audit and
metrics, the LDAP directory, the web console, and the per-process caches the STS and
IAM handlers keep. The types are imported for type checking only, so any package may
import this module without importing the ones it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    import anyio

    from iamgw.config import Settings
    from iamgw.console import Console
    from iamgw.datadir import RootCredentials
    from iamgw.identity import Access, LdapDirectory, OidcVerifier, SessionTokens
    from iamgw.ops import Auditor, Metrics
    from iamgw.s3 import Proxy, UpstreamPool
    from iamgw.store import MasterKey, Repository
    from iamgw.sts import Catalog


@dataclass
class Gateway:
    settings: Settings
    repo: Repository
    upstreams: UpstreamPool
    master_key: MasterKey
    root: RootCredentials
    access: Access
    proxy: Proxy
    tokens: SessionTokens
    auditor: Auditor
    metrics: Metrics
    oidc: OidcVerifier  # web identity tokens: one key cache per process
    iam_threads: anyio.CapacityLimiter  # IAM handlers' own threads (see iam.handle)
    sts_catalog: Catalog | None = None  # OIDC providers and roles, per store generation
    ldap: LdapDirectory | None = None  # with an [ldap] url: AssumeRoleWithLDAPIdentity
    console: Console | None = None  # the web console's cookies and OpenID clients


def gateway_of(request: Request) -> Gateway:
    """The gateway serving `request` (set by the lifespan before the first request)."""
    gateway: Gateway = request.app.state.gateway
    return gateway
