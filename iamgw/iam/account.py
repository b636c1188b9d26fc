"""GetAccountSummary (IAM API Reference): the account's entity counts and quotas."""

from __future__ import annotations

from typing import Any

from .call import Call
from .registry import SummaryMap, action

# IAM's default quotas ("IAM and AWS STS quotas"); the ones iamgw enforces are marked.
QUOTAS = {
    "UsersQuota": 5000,
    "GroupsQuota": 300,
    "RolesQuota": 1000,
    "PoliciesQuota": 1500,
    "PolicyVersionsInUseQuota": 10000,
    "AccessKeysPerUserQuota": 2,  # enforced
    "AttachedPoliciesPerUserQuota": 10,  # enforced
    "AttachedPoliciesPerGroupQuota": 10,  # enforced
    "AttachedPoliciesPerRoleQuota": 10,  # enforced
    "GroupsPerUserQuota": 10,
    "VersionsPerPolicyQuota": 5,  # enforced
    "PolicySizeQuota": 6144,  # enforced
    "UserPolicySizeQuota": 2048,  # enforced
    "GroupPolicySizeQuota": 5120,  # enforced
    "RolePolicySizeQuota": 10240,  # enforced
    "AssumeRolePolicySizeQuota": 2048,  # enforced
}


@action("GetAccountSummary")
def get_account_summary(call: Call) -> dict[str, Any]:
    call.authorize("*")
    counts = call.repo.account_counts()
    summary = {
        **counts,
        **QUOTAS,
        "AccountMFAEnabled": 0,
        "AccountAccessKeysPresent": 1,  # the root credentials
        "AccountSigningCertificatesPresent": 0,
        "MFADevices": 0,
        "MFADevicesInUse": 0,
        "ServerCertificates": 0,
        "InstanceProfiles": 0,
        "GlobalEndpointTokenVersion": 1,
    }
    return {"SummaryMap": SummaryMap(summary)}
