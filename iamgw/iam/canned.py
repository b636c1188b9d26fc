"""Canned policies: the JSON files of `policies/`, loaded as managed policies at startup.

A file that changed becomes the policy's new default version; a same-named
policy created through the API is never overwritten (the log says so).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from iamgw.policy import MalformedPolicyDocument, parse_policy
from iamgw.store import Repository

log = logging.getLogger("iamgw.policies")
# The source checkout's `policies/`; a wheel carries the same files under iamgw/policies.
DEFAULT_DIRS = (Path(__file__).parents[2] / "policies", Path(__file__).parents[1] / "policies")


def canned_policy_dir() -> Path | None:
    return next((d for d in DEFAULT_DIRS if d.is_dir()), None)


def load_canned_policies(repo: Repository, directory: Path | None = None) -> dict[str, str]:
    """Load every `*.json` file; returns {policy name: outcome} for the log and tests."""
    directory = directory or canned_policy_dir()
    outcomes: dict[str, str] = {}
    if directory is None:
        log.warning("no policies/ directory found: no canned policies loaded")
        return outcomes
    for path in sorted(directory.glob("*.json")):
        name, text = path.stem, path.read_text()
        try:
            parse_policy(text)
        except MalformedPolicyDocument as exc:
            log.error("canned policy %s skipped: %s", path.name, exc)
            outcomes[name] = "invalid"
            continue
        document = json.dumps(json.loads(text), separators=(",", ":"))
        digest = hashlib.sha256(document.encode()).hexdigest()
        outcome = repo.upsert_canned_policy(name, document, digest)
        outcomes[name] = outcome
        if outcome == "conflict":
            log.warning(
                "canned policy %s not loaded: a policy of that name was created through the "
                "IAM API and is kept as it is",
                name,
            )
        elif outcome == "updated":
            log.info("canned policy %s changed on disk: new default version", name)
    return outcomes
