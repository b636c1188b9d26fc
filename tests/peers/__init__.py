"""Test peers: the real servers the tests talk to, on free loopback ports.

- `start_seaweedfs` -> `SeaweedNode`: a SeaweedFS storage node (S3 API, SigV4 enforced)
- `start_oidc_provider` -> `OidcProvider`: a Keycloak-shaped OpenID provider configured from
  `keycloak-realm/realm.json` (npm `oidc-provider`)
- `start_slapd` -> `Slapd`: an OpenLDAP directory with people, groups (nested too), memberOf,
  a locked account (ppolicy), and with `tls=TlsFiles(cert, key)` StartTLS and LDAPS

Each start function is reusable (several instances, stop and restart); `tests.peers.fixtures`
is the pytest plugin with the session fixtures `seaweedfs`, `oidc_provider` and `slapd`.
Every peer is stopped by its pid (SIGTERM, then SIGKILL) and keeps its log in its temp dir.
"""

from ._process import PeerError
from .oidc import REALM_PATH, OidcProvider, start_oidc_provider
from .seaweedfs import SeaweedNode, start_seaweedfs
from .slapd import Slapd, TlsFiles, start_slapd

__all__ = [
    "REALM_PATH",
    "OidcProvider",
    "PeerError",
    "SeaweedNode",
    "Slapd",
    "TlsFiles",
    "start_oidc_provider",
    "start_seaweedfs",
    "start_slapd",
]
