"""The Effect element: Allow or Deny."""

from __future__ import annotations

from enum import StrEnum


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
