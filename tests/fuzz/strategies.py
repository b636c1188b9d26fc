"""Hypothesis strategies for hostile requests: paths and keys, query strings, headers,
Query API bodies and policy documents, shaped after what the attacks on a running
gateway used (odd separators, encodings, repeated and lying headers, huge numbers)."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import strategies as st

from iamgw.iam import ACTIONS as IAM_ACTIONS
from iamgw.s3.operations import RULES
from iamgw.sts import ACTIONS as STS_ACTIONS
from tests.policy.policy_helpers import STATEMENT_ELEMENTS

METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "PROPFIND"]
methods = st.one_of(st.sampled_from(["GET", "HEAD"]), st.sampled_from(METHODS))
_ODD_SEGMENTS = [
    "",
    ".",
    "..",
    "%2F",
    "%2f",
    "%5C",
    "\\",
    "%00",
    "%0a",
    "%ff",
    "%E2%80%AE",
    ";",
    "%20",
    "~",
    "%25",
    "%",
    "prot",
    "a.txt",
    "dir",
    "%2e%2e",
    "ü",
    "%C3%BC",
]
_BUCKETS = ["fuzz", "Fuzz", "fuzz-other", "", "fu..zz", "%66uzz", "a" * 70, "fuzz.", "127.0.0.1"]
_SUBRESOURCES = sorted({r.subresource for r in RULES if r.subresource})
_PARAM_NAMES = [
    *_SUBRESOURCES,
    "versionId",
    "uploadId",
    "partNumber",
    "prefix",
    "delimiter",
    "list-type",
    "max-keys",
    "x-id",
    "X-Amz-Expires",
    "X-Amz-Date",
    "response-content-type",
    "X-Amz-Security-Token",
    "Action",
    "Version",
]
_HEADER_NAMES = [
    "host",
    "content-type",
    "range",
    "content-md5",
    "expect",
    "origin",
    "date",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-copy-source",
    "x-amz-security-token",
    "x-amz-decoded-content-length",
    "x-amz-meta-a",
    "x-amz-acl",
    "x-amz-tagging",
    "x-amz-object-lock-mode",
    "x-amz-bypass-governance-retention",
    "authorization",
    "x-amz-trailer",
    "content-encoding",
    "if-match",
    "x-amz-grant-read",
    "x-amz-server-side-encryption",
    "x-forwarded-for",
    "content-length",
]
_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_VALUES = st.one_of(
    st.text(_PRINTABLE, max_size=40),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "9" * 40,
            "²",
            "UNSIGNED-PAYLOAD",
            "bytes=0-1",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "100-continue",
            "aws-chunked",
            "Fri, 31 Dec 9999 23:59:59 -0100",
            "20261301T250000Z",
            "fuzz/a.txt",
            "/fuzz//prot/a.txt",
            "AWS4-HMAC-SHA256 Credential=x",
            "AWS a:b",
            "a" * 3000,
            "5",
            "1000000",
        ]
    ),
)


def _encode(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


segments = st.one_of(st.sampled_from(_ODD_SEGMENTS), st.text(_PRINTABLE, max_size=8).map(_encode))


def _often(usual, odd):  # about half of the examples plausible, so that they get far
    return st.one_of(usual, usual, odd)


_KEYS = ["", "a.txt", "prot/a.txt", "dir/", "dir/b%20c.txt", "%C3%BC.txt", "missing"]


@st.composite
def _odd_paths(draw) -> str:
    bucket = draw(st.sampled_from(_BUCKETS))
    key = "/".join(draw(st.lists(segments, max_size=5)))
    return "/" + bucket + ("/" + key if key or draw(st.booleans()) else "")


raw_paths = _often(st.sampled_from(_KEYS).map(lambda k: "/fuzz/" + k), _odd_paths())


@st.composite
def _odd_queries(draw) -> str:
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(_PARAM_NAMES), st.one_of(st.none(), _VALUES)), max_size=4
        )
    )
    return "&".join(n if v is None else f"{n}={_encode(v)}" for n, v in pairs)


raw_queries = _often(st.sampled_from(["", "list-type=2", "prefix=dir/", "tagging"]), _odd_queries())
headers = _often(
    st.just([]), st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), _VALUES), max_size=6)
)
bodies = st.one_of(
    st.just(b""),
    st.just(b""),
    st.binary(max_size=256),
    st.sampled_from(
        [
            b"<Delete><Object><Key>/prot/a.txt</Key></Object></Delete>",
            b"<Delete><Object><Key>prot//a.txt</Key></Object></Delete>",
        ]
    ),
)

# -- Query API (STS, IAM) ------------------------------------------------------

_QUERY_PARAMS = [
    "UserName",
    "GroupName",
    "RoleName",
    "PolicyArn",
    "PolicyName",
    "PolicyDocument",
    "AssumeRolePolicyDocument",
    "DurationSeconds",
    "RoleArn",
    "RoleSessionName",
    "WebIdentityToken",
    "Policy",
    "PolicyArns.member.1.arn",
    "Tags.member.1.Key",
    "Tags.member.1.Value",
    "TagKeys.member.²",
    "TagKeys.member." + "9" * 4000,
    "Marker",
    "MaxItems",
    "PathPrefix",
    "Path",
    "SerialNumber",
    "TokenCode",
    "ActionNames.member.1",
    "ResourceArns.member.1",
    "PolicyInputList.member.1",
    "ContextEntries.member.1.ContextKeyName",
    "Url",
    "ThumbprintList.member.1",
    "ClientIDList.member.1",
    "NewUserName",
    "AccessKeyId",
    "Status",
]
_QUERY_VALUES = st.one_of(
    _VALUES,
    st.text(max_size=30),  # any code point, lone surrogates included
    st.sampled_from(
        [
            "\ud800",
            '{"Version":"2012-10-17","Statement":[]}',
            "NaN",
            '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","x":NaN}]}',
            "arn:aws:iam::000000000000:policy/readwrite",
            "arn:aws:iam::000000000000:role/x",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
            "43201",
            "1" + "0" * 5000,
        ]
    ),
)


@st.composite
def query_bodies(draw) -> bytes:
    """A form body: an action (IAM, STS or none), a version, and parameters."""
    action = draw(st.sampled_from([*IAM_ACTIONS, *STS_ACTIONS, "", "NoSuchAction"]))
    version = draw(st.sampled_from(["2010-05-08", "2011-06-15", "", "2006-03-01"]))
    pairs = [("Action", action), ("Version", version)]
    pairs += draw(st.lists(st.tuples(st.sampled_from(_QUERY_PARAMS), _QUERY_VALUES), max_size=5))
    return "&".join(f"{_encode(n)}={_encode(v)}" for n, v in pairs).encode()


# -- policy documents ----------------------------------------------------------

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["*", "s3:*", "arn:aws:s3:::*"]),
)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_statement = st.dictionaries(
    st.sampled_from([*STATEMENT_ELEMENTS, "Extra"]),
    st.one_of(
        _json,
        st.sampled_from(
            [
                "Allow",
                "Deny",
                "s3:GetObject",
                "*",
                {"AWS": "*"},
                {"StringLike": {"s3:prefix": ["a*"]}},
                {"DateGreaterThan": {"aws:CurrentTime": "x"}},
            ]
        ),
    ),
    max_size=6,
)
policy_objects = st.one_of(
    _json,
    st.fixed_dictionaries(
        {
            "Version": st.sampled_from(["2012-10-17", "2008-10-17", "", 1]),
            "Statement": st.one_of(_statement, st.lists(_statement, max_size=3)),
        }
    ),
)
policy_texts = st.one_of(
    policy_objects.map(json.dumps),
    st.text(max_size=200),
    st.sampled_from(
        [
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",'
            '"Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":NaN}}}]}',
            '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"\\ud800",'
            '"Resource":"*"}}',
            '{"Version":"2012-10-17","Version":"2012-10-17"}',
            "[" * 5000,
            '{"a":' * 3000,
        ]
    ),
)
