"""Every IAM action is registered under its literal name, so that a reader finds the
handler of `AttachUserPolicy` by searching for it."""

from __future__ import annotations

from pathlib import Path

import iamgw.iam
from iamgw.iam import ACTIONS


def test_every_action_name_is_written_out_in_the_source() -> None:
    package = Path(iamgw.iam.__file__).parent
    source = "\n".join(p.read_text() for p in package.glob("*.py"))
    missing = sorted(name for name in ACTIONS if f'"{name}"' not in source)
    assert not missing, f"registered without their name written out: {missing}"
    assert "AttachUserPolicy" in ACTIONS and len(ACTIONS) > 80
