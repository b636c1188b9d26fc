"""IP address condition operators: IPv4 and IPv6 addresses and CIDR ranges.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from .operator import Operator

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _network(value: str) -> Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _address(value: str) -> Address | Network | None:
    value = value.strip()
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return _network(value) if "/" in value else None


def _test(value: str, policy: Network) -> bool:
    addr = _address(value)
    if addr is None or addr.version != policy.version:
        return False
    if isinstance(addr, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return addr.subnet_of(policy)  # type: ignore[arg-type]
    return addr in policy


OPERATORS = (
    Operator("IpAddress", _network, _test),
    Operator("NotIpAddress", _network, _test, negated=True),
)
