"""The parameters of an IAM call, read and checked as IAM checks them.

IAM answers a parameter that breaks its model's constraints with
`ValidationError` ("1 validation error detected: Value 'x' at 'userName'
failed to satisfy constraint: ..."); the patterns and lengths are those of the
IAM API Reference's data types (userNameType, pathType, policyNameType, ...).
The Query protocol flattens lists as `Name.member.N` and tags as
`Tags.member.N.Key`/`.Value`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from iamgw.errors import ValidationError

from .errors import InvalidInput

T = TypeVar("T")

NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
PATH = re.compile(r"(/)|(/[\x21-\x7e]+/)")
PATH_PREFIX = re.compile(r"/[\x21-\x7f]*")
VERSION_ID = re.compile(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?")
ACCESS_KEY_ID = re.compile(r"\w+", re.ASCII)
ARN = re.compile(r"[\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd]+")
TAG_KEY = re.compile(r"[\w\s_.:/=+\-@]+")
TAG_VALUE = re.compile(r"[\w\s_.:/=+\-@]*")
THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")
# ASCII only: `str.isdigit` and int() also take other scripts' digits (and isdigit `²`,
# which int() then refuses); int() refuses more than 4,300 digits.
LIST_INDEX = re.compile(r"[1-9][0-9]{0,8}")
INTEGER = re.compile(r"-?[0-9]+")
MAX_INTEGER_DIGITS = 18

# Name lengths of the IAM data types.
USER_NAME, GROUP_NAME, ROLE_NAME, POLICY_NAME = 64, 128, 64, 128


def _failed(value: Any, field: str, constraint: str) -> ValidationError:
    shown = "null" if value is None else f"'{value}'"
    return ValidationError(
        f"1 validation error detected: Value {shown} at '{field}' failed to satisfy "
        f"constraint: {constraint}"
    )


class Params:
    """The call's parameters; each getter validates and raises ValidationError."""

    def __init__(self, raw: dict[str, str]) -> None:
        for key in raw:
            check_list_indexes(key)
        self.raw = raw

    def get(self, key: str, field: str, *, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if value is None and required:
            raise _failed(None, field, "Member must not be null")
        return value

    def text(
        self,
        key: str,
        field: str,
        *,
        required: bool = False,
        min_len: int = 1,
        max_len: int | None = None,
        pattern: re.Pattern[str] | None = None,
        pattern_text: str = "",
    ) -> str | None:
        value = self.get(key, field, required=required)
        if value is None:
            return None
        if len(value) < min_len:
            raise _failed(
                value, field, f"Member must have length greater than or equal to {min_len}"
            )
        if max_len is not None and len(value) > max_len:
            raise _failed(value, field, f"Member must have length less than or equal to {max_len}")
        if pattern is not None and not pattern.fullmatch(value):
            shown = pattern_text or pattern.pattern
            raise _failed(value, field, f"Member must satisfy regular expression pattern: {shown}")
        return value

    def name(self, key: str, field: str, max_len: int, *, required: bool = True) -> str:
        value = self.text(
            key,
            field,
            required=required,
            max_len=max_len,
            pattern=NAME,
            pattern_text=r"[\w+=,.@-]+",
        )
        return value  # type: ignore[return-value]

    def optional_name(self, key: str, field: str, max_len: int) -> str | None:
        return self.text(key, field, max_len=max_len, pattern=NAME, pattern_text=r"[\w+=,.@-]+")

    def path(self, key: str = "Path", field: str = "path") -> str:
        value = self.text(
            key,
            field,
            max_len=512,
            pattern=PATH,
            pattern_text=r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
        )
        return value or "/"

    def path_prefix(self, key: str = "PathPrefix") -> str:
        value = self.text(
            key,
            "pathPrefix",
            max_len=512,
            pattern=PATH_PREFIX,
            pattern_text=r"\u002F[\u0021-\u007F]*",
        )
        return value or "/"

    def arn(self, key: str, field: str, *, required: bool = True) -> str:
        value = self.text(key, field, required=required, min_len=20, max_len=2048, pattern=ARN)
        return value  # type: ignore[return-value]

    def document(self, key: str, field: str, *, required: bool = True) -> str:
        value = self.text(key, field, required=required, max_len=131072)
        return value  # type: ignore[return-value]

    def version_id(self, key: str = "VersionId") -> str:
        value = self.text(
            key, "versionId", required=True, pattern=VERSION_ID, pattern_text=VERSION_ID.pattern
        )
        return value  # type: ignore[return-value]

    def access_key_id(self, key: str = "AccessKeyId") -> str:
        value = self.text(
            key, "accessKeyId", required=True, min_len=16, max_len=128, pattern=ACCESS_KEY_ID
        )
        return value  # type: ignore[return-value]

    def description(self, key: str = "Description") -> str | None:
        return self.text(key, "description", min_len=0, max_len=1000)

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise _failed(value, key[0].lower() + key[1:], "Member must be a boolean")
        return value.lower() == "true"

    def integer(self, key: str, field: str, low: int, high: int) -> int | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not INTEGER.fullmatch(value):
            raise _failed(value[:64], field, "Member must be an integer")
        digits = value.lstrip("-").lstrip("0")
        if len(digits) > MAX_INTEGER_DIGITS:  # far outside any bound: not worth int()
            number = high + 1 if not value.startswith("-") else low - 1
            value = value[:64] + "..."
        else:
            number = int(value)
        if number < low:
            raise _failed(value, field, f"Member must have value greater than or equal to {low}")
        if number > high:
            raise _failed(value, field, f"Member must have value less than or equal to {high}")
        return number

    def choice(self, key: str, field: str, choices: Sequence[str], default: str) -> str:
        value = self.raw.get(key)
        if value is None:
            return default
        if value not in choices:
            allowed = ", ".join(choices)
            raise _failed(value, field, f"Member must satisfy enum value set: [{allowed}]")
        return value

    def members(self, key: str) -> list[str]:
        """`Key.member.1`, `Key.member.2`, ... in order."""
        out: list[str] = []
        n = 1
        while f"{key}.member.{n}" in self.raw:
            out.append(self.raw[f"{key}.member.{n}"])
            n += 1
        return out

    def structs(self, key: str) -> list[dict[str, str]]:
        """`Key.member.N.Field` -> one dict per N (nested lists stay flattened in the keys)."""
        out: list[dict[str, str]] = []
        n = 1
        while True:
            prefix = f"{key}.member.{n}."
            item = {k[len(prefix) :]: v for k, v in self.raw.items() if k.startswith(prefix)}
            if not item:
                return out
            out.append(item)
            n += 1

    def tags(self) -> dict[str, str]:
        tags: dict[str, str] = {}
        for item in self.structs("Tags"):
            key, value = item.get("Key"), item.get("Value")
            if key is None or value is None:
                raise _failed(
                    None,
                    "tags.member.key" if key is None else "tags.member.value",
                    "Member must not be null",
                )
            check_tag(key, value)
            if key in tags:
                raise InvalidInput(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive."
                )
            tags[key] = value
        if len(tags) > 50:
            raise _failed("tags", "tags", "Member must have length less than or equal to 50")
        return tags

    def tag_keys(self) -> list[str]:
        keys = self.members("TagKeys")
        for key in keys:
            if not 1 <= len(key) <= 128 or not TAG_KEY.fullmatch(key):
                raise _failed(
                    key,
                    "tagKeys",
                    r"Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+",
                )
        return keys

    def max_items(self) -> int:
        return self.integer("MaxItems", "maxItems", 1, 1000) or 100


def check_list_indexes(key: str) -> None:
    """A parameter of a list (`Name.member.N`, `Name.member.N.Field.member.M`...) must
    number its items 1, 2, ... in ASCII digits."""
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        if part == "member" and not LIST_INDEX.fullmatch(parts[i + 1]):
            raise ValidationError(
                f"The list index of parameter {ascii(key[:128])} is not a number from 1 to "
                "999999999."
            )


def check_tag(key: str, value: str) -> None:
    if not 1 <= len(key) <= 128 or not TAG_KEY.fullmatch(key):
        raise _failed(
            key,
            "tags.member.key",
            "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
        )
    if len(value) > 256 or not TAG_VALUE.fullmatch(value):
        raise _failed(
            value,
            "tags.member.value",
            "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
        )


def paginate(
    items: Sequence[T],
    params: Params,
    key: Callable[[T], str],
    items_name: str,
    shape: Callable[[T], Any],
) -> dict[str, Any]:
    """One page of `items` (sorted by `key`), each shaped: `{items_name: page,
    IsTruncated, Marker}`. The marker is the next item's key, opaque to the client."""
    max_items = params.max_items()
    start = 0
    marker = params.raw.get("Marker")
    if marker is not None:
        try:
            after = base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            after = ""
        if not after:
            raise InvalidInput("Invalid Marker.")
        start = next((i for i, item in enumerate(items) if key(item) >= after), len(items))
    page = [shape(item) for item in items[start : start + max_items]]
    truncated = start + max_items < len(items)
    result: dict[str, Any] = {items_name: page, "IsTruncated": truncated}
    if truncated:
        result["Marker"] = base64.urlsafe_b64encode(key(items[start + max_items]).encode()).decode()
    return result
