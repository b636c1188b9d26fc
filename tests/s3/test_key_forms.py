"""Object keys a storage node reads as another key are refused (security finding).

The gateway decides on the key as sent; SeaweedFS collapses a leading or doubled `/`,
reads `\\` as `/`, reads a non-UTF-8 escape as U+FFFD and, in a DeleteObjects document,
a carriage return as a line feed. With writes denied on `keyforms/prot/*`, `PUT
/keyforms//prot/a.txt` overwrote `prot/a.txt`; `PUT /bucket/%2F` created a bucket.
The probes first show, straight to the node, what it does with each form (what the
gateway would forward for that key: `upstream_path`, signed as the proxy signs); the
other tests show that the gateway refuses the form before any node sees it.
"""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET  # noqa: S405 - builds documents, parses none
from datetime import UTC, datetime

import botocore.exceptions
import httpx
import pytest

from iamgw.s3.proxy import upstream_path
from iamgw.sigv4 import Credentials, sign_request
from tests.iam_helpers import make_user
from tests.s3.test_attacks import error, send, signed

BUCKET = "keyforms"
PROTECTED = "prot/a.txt"
SECRET = "secret"
CR_VICTIM = "cr\n"  # denied to delete; "cr\r" is not
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
# Forms of `prot/a.txt` that the node reads as `prot/a.txt`.
COLLAPSED = ["/prot/a.txt", "//prot/a.txt", "prot//a.txt", "prot\\a.txt"]


def to_node(seaweedfs, method: str, path: str, body: bytes = b"", headers: dict | None = None,
            signed_path: str | None = None) -> httpx.Response:  # fmt: skip
    """A request straight to the node, its path sent byte for byte as given and signed
    as the gateway's proxy signs (over `signed_path` when the node reads the path so)."""
    headers = dict(headers or {})
    credentials = Credentials(seaweedfs.access_key, seaweedfs.secret_key)
    headers |= sign_request(method, seaweedfs.endpoint + (signed_path or path), headers,
                            hashlib.sha256(body).hexdigest(), credentials, region="us-east-1",
                            service="s3", now=datetime.now(UTC))  # fmt: skip
    url = httpx.URL(seaweedfs.endpoint).copy_with(raw_path=path.encode("ascii"))
    return httpx.request(method, url, headers=headers, content=body)


def delete_document(*keys: str) -> tuple[bytes, dict[str, str]]:
    """A DeleteObjects body as ElementTree writes it (as bucket_ops does), and its MD5."""
    root = ET.Element(f"{{{S3_NS}}}Delete")
    for key in keys:
        ET.SubElement(ET.SubElement(root, f"{{{S3_NS}}}Object"), f"{{{S3_NS}}}Key").text = key
    body = ET.tostring(root, xml_declaration=True, encoding="UTF-8")
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - Content-MD5
    return body, {"Content-MD5": md5, "Content-Type": "application/xml"}


def node_keys(node, bucket: str) -> list[str]:
    return [o["Key"] for o in node.list_objects_v2(Bucket=bucket).get("Contents", [])]


def node_buckets(node) -> list[str]:
    return [b["Name"] for b in node.list_buckets()["Buckets"]]


# --- what the node does with each form ------------------------------------------------


@pytest.fixture(scope="module")
def probe(node) -> str:
    node.create_bucket(Bucket="probe-keyforms")
    return "probe-keyforms"


@pytest.mark.parametrize("form", COLLAPSED)
def test_the_node_writes_collapsed_keys_to_the_plain_key(seaweedfs, node, probe, form) -> None:
    node.put_object(Bucket=probe, Key=PROTECTED, Body=b"original")
    r = to_node(seaweedfs, "PUT", upstream_path(probe, form), b"overwritten")
    assert r.status_code == 200, r.text
    assert node.get_object(Bucket=probe, Key=PROTECTED)["Body"].read() == b"overwritten"
    assert node_keys(node, probe) == [PROTECTED]  # no key of the form's own


@pytest.mark.parametrize("form", COLLAPSED)
def test_the_node_deletes_collapsed_keys_as_the_plain_key(seaweedfs, node, probe, form) -> None:
    node.put_object(Bucket=probe, Key=PROTECTED, Body=b"original")
    assert to_node(seaweedfs, "DELETE", upstream_path(probe, form)).status_code == 204
    assert PROTECTED not in node_keys(node, probe)


@pytest.mark.parametrize("form", [f for f in COLLAPSED if "\\" not in f])
def test_the_node_deletes_collapsed_delete_objects_keys_as_the_plain_key(seaweedfs, node, probe,
                                                                         form) -> None:  # fmt: skip
    # (A <Key> keeps its backslash: it names no key the node can store, which the
    # gateway refuses all the same, since a path's backslash is a slash.)
    node.put_object(Bucket=probe, Key=PROTECTED, Body=b"original")
    body, headers = delete_document(form)
    r = to_node(seaweedfs, "POST", f"/{probe}?delete", body, headers)
    assert r.status_code == 200, r.text
    assert PROTECTED not in node_keys(node, probe)


@pytest.mark.parametrize("source", ["/probe-keyforms//prot/a.txt", "/probe-keyforms/%2Fprot/a.txt",
                                    "/probe-keyforms/prot%5Ca.txt"])  # fmt: skip
def test_the_node_reads_collapsed_copy_sources_as_the_plain_key(seaweedfs, node, probe,
                                                                source) -> None:  # fmt: skip
    node.put_object(Bucket=probe, Key=PROTECTED, Body=b"original")
    r = to_node(seaweedfs, "PUT", f"/{probe}/copied", headers={"x-amz-copy-source": source})
    assert r.status_code == 200, r.text
    assert node.get_object(Bucket=probe, Key="copied")["Body"].read() == b"original"


def test_the_node_reads_the_key_slash_as_the_bucket(seaweedfs, node) -> None:
    assert "probe-made" not in node_buckets(node)
    assert to_node(seaweedfs, "PUT", upstream_path("probe-made", "/")).status_code == 200
    assert "probe-made" in node_buckets(node)
    node.create_bucket(Bucket="probe-gone")
    assert to_node(seaweedfs, "DELETE", upstream_path("probe-gone", "/")).status_code == 204
    assert "probe-gone" not in node_buckets(node)


def test_the_node_reads_a_non_utf8_escape_as_u_fffd(seaweedfs, node, probe) -> None:
    node.put_object(Bucket=probe, Key="k\ufffd", Body=b"replacement")
    r = to_node(seaweedfs, "GET", f"/{probe}/k%FF", signed_path=f"/{probe}/k%EF%BF%BD")
    assert r.status_code == 200 and r.content == b"replacement"


def test_the_node_reads_control_characters_differently(seaweedfs, node, probe) -> None:
    # A carriage return in a DeleteObjects document (ElementTree writes it as is) is
    # read as a line feed: deleting "cr\r" deletes "cr\n".
    node.put_object(Bucket=probe, Key="cr\n", Body=b"lf")
    node.put_object(Bucket=probe, Key="cr\r", Body=b"cr")
    body, headers = delete_document("cr\r")
    assert to_node(seaweedfs, "POST", f"/{probe}?delete", body, headers).status_code == 200
    left = node_keys(node, probe)
    assert "cr\r" in left and "cr\n" not in left
    # A listing without encoding-type=url names a key with \x01 as another key.
    node.put_object(Bucket=probe, Key="ctl\x01", Body=b"x")
    listing = to_node(seaweedfs, "GET", f"/{probe}?list-type=2&prefix=ctl").text
    assert "<Key>ctl\ufffd</Key>" in listing
    # A key with \x00 is refused.
    assert to_node(seaweedfs, "PUT", upstream_path(probe, "nul\x00"), b"x").status_code == 400


# --- through the gateway ---------------------------------------------------------------


@pytest.fixture(scope="module")
def kb(root_s3) -> str:
    root_s3.create_bucket(Bucket=BUCKET)
    root_s3.create_bucket(Bucket="keyforms-victim")
    return BUCKET


@pytest.fixture(scope="module")
def user(gateway, kb):
    """Object reads and writes anywhere, except the explicitly denied keys."""
    denied = [f"arn:aws:s3:::{BUCKET}/{k}" for k in ("prot/*", SECRET, CR_VICTIM)]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:ListBucket",
                    "s3:AbortMultipartUpload",
                ],
                "Resource": "*",
            },
            {
                "Effect": "Deny",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": denied,
            },
        ],
    }
    return make_user(gateway, "key-forms", inline=policy)


@pytest.fixture
def objects(node, kb) -> None:
    """The protected objects as they must stay, written before each test."""
    node.put_object(Bucket=kb, Key=PROTECTED, Body=b"protected")
    node.put_object(Bucket=kb, Key=SECRET, Body=b"TOP SECRET")
    node.put_object(Bucket=kb, Key=CR_VICTIM, Body=b"line feed")


def unchanged(node) -> bool:
    read = node.get_object(Bucket=BUCKET, Key=PROTECTED)["Body"].read()
    return read == b"protected" and CR_VICTIM in node_keys(node, BUCKET)


def test_the_user_is_denied_the_plain_keys(gateway, user, objects, node) -> None:
    """The denials the forms below would get around."""
    s3 = gateway.client(key=user.key, secret=user.secret)
    for call in (lambda: s3.put_object(Bucket=BUCKET, Key=PROTECTED, Body=b"x"),
                 lambda: s3.delete_object(Bucket=BUCKET, Key=PROTECTED),
                 lambda: s3.get_object(Bucket=BUCKET, Key=SECRET)):  # fmt: skip
        with pytest.raises(botocore.exceptions.ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "AccessDenied"
    assert unchanged(node)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/keyforms//prot/a.txt"),
        ("PUT", "/keyforms/%2Fprot/a.txt"),
        ("PUT", "/keyforms/prot%5Ca.txt"),
        ("PUT", "/keyforms/prot//a.txt"),
        ("PUT", "/keyforms/prot%2F%2Fa.txt"),
        ("DELETE", "/keyforms//prot/a.txt"),
        ("DELETE", "/keyforms/prot%5Ca.txt"),
        ("GET", "/keyforms//secret"),
        ("GET", "/keyforms/%2Fsecret"),
    ],
)
def test_collapsed_keys_are_refused(gateway, user, objects, node, method, path) -> None:
    body = b"overwritten" if method == "PUT" else b""
    r = send(signed(method, gateway.url + path, body=body, key=user.key, secret=user.secret))
    assert r.status_code == 400 and error(r) == "InvalidObjectName", r.text
    assert b"TOP SECRET" not in r.content
    assert unchanged(node)


def test_collapsed_keys_are_refused_virtual_host_style(gateway, user, objects, node) -> None:
    port = gateway.url.rsplit(":", 1)[1]
    vhost = f"http://{BUCKET}.127.0.0.1:{port}"
    for method, path in (("PUT", "//prot/a.txt"), ("PUT", "/prot%5Ca.txt"), ("GET", "//secret")):
        request = signed(method, vhost + path, body=b"x" if method == "PUT" else b"",
                         key=user.key, secret=user.secret)  # fmt: skip
        r = send(request, url=gateway.url + path, headers={"Host": f"{BUCKET}.127.0.0.1:{port}"})
        assert r.status_code == 400 and error(r) == "InvalidObjectName", (path, r.text)
        assert b"TOP SECRET" not in r.content
    assert unchanged(node)


def test_a_key_is_never_a_bucket(gateway, user, kb, node) -> None:
    for path in ("/keyforms-newbucket/%2F", "/keyforms-newbucket//", "/keyforms-newbucket/%2F%2F"):
        r = send(signed("PUT", gateway.url + path, key=user.key, secret=user.secret))
        assert r.status_code == 400 and error(r) == "InvalidObjectName", (path, r.text)
    assert "keyforms-newbucket" not in node_buckets(node)
    for path in ("/keyforms-victim/%2F", "/keyforms-victim//"):
        r = send(signed("DELETE", gateway.url + path, key=user.key, secret=user.secret))
        assert r.status_code == 400 and error(r) == "InvalidObjectName", (path, r.text)
    assert "keyforms-victim" in node_buckets(node)
    # Nor is a key without a bucket the service: "//keyforms/secret" names no bucket.
    r = send(signed("GET", gateway.url + "//keyforms/secret", key=user.key, secret=user.secret))
    assert r.status_code == 400 and error(r) == "InvalidBucketName", r.text


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/keyforms/ctl%0D", "InvalidObjectName"),
        ("/keyforms/ctl%0A", "InvalidObjectName"),
        ("/keyforms/ctl%01", "InvalidObjectName"),
        ("/keyforms/ctl%7F", "InvalidObjectName"),
        ("/keyforms/bad%FF", "InvalidURI"),
        ("/keyforms/bad%C0%AF", "InvalidURI"),
    ],
)
def test_unreadable_keys_are_refused(gateway, user, kb, node, path, code) -> None:
    r = send(signed("PUT", gateway.url + path, body=b"x", key=user.key, secret=user.secret))
    assert r.status_code == 400 and error(r) == code, r.text
    assert not [k for k in node_keys(node, kb) if k.startswith(("ctl", "bad"))]


def delete_objects(gateway, user, *keys: str) -> httpx.Response:
    entries = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    body = f'<Delete xmlns="{S3_NS}">{entries}</Delete>'.encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324 - Content-MD5
    headers = {"Content-Type": "application/xml", "Content-MD5": md5}
    request = signed("POST", f"{gateway.url}/{BUCKET}?delete", body=body, headers=headers,
                     key=user.key, secret=user.secret)  # fmt: skip
    return send(request)


@pytest.mark.parametrize("key", ["/prot/a.txt", "//prot/a.txt", "prot//a.txt", "cr&#13;"])
def test_delete_objects_refuses_keys_the_node_reads_as_others(gateway, user, objects, node,
                                                              key) -> None:  # fmt: skip
    r = delete_objects(gateway, user, "allowed-too", key)
    assert r.status_code == 400 and error(r) == "InvalidObjectName", r.text
    assert unchanged(node)


@pytest.mark.parametrize(
    "source",
    [
        "/keyforms//secret",
        "keyforms//secret",
        "/keyforms/%2Fsecret",
        "%2Fkeyforms%2F%2Fsecret",
        "/keyforms/prot%5Ca.txt",
        "/keyforms/prot//a.txt",
        "/keyforms/secret%FF",
        "/keyforms/secret?versionId=a&versionId=b",
    ],
)
def test_copy_sources_the_node_reads_as_others(gateway, user, objects, node, source) -> None:
    s3 = gateway.client(key=user.key, secret=user.secret)
    copy = {"x-amz-copy-source": source}
    r = send(signed("PUT", f"{gateway.url}/{BUCKET}/stolen", headers=copy, key=user.key,
                    secret=user.secret))  # fmt: skip
    assert r.status_code == 400 and error(r) == "InvalidArgument", r.text
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="stolen-part")["UploadId"]
    try:
        url = f"{gateway.url}/{BUCKET}/stolen-part?partNumber=1&uploadId={upload}"
        r = send(signed("PUT", url, headers=copy, key=user.key, secret=user.secret))
        assert r.status_code == 400 and error(r) == "InvalidArgument", r.text
    finally:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="stolen-part", UploadId=upload)
    assert "stolen" not in node_keys(node, BUCKET)


ORDINARY = [
    "dir/",
    "dir/sub dir/file name.txt",
    "ключ/файл ✓ 表.txt",
    "a+b=c&d:e@f~g.txt",
    "semi;colon,comma$!'()*[]",
    "trailing space ",
    "100%.txt",
    "%2F literally",
    "/".join(["s" * 200] * 5) + "x" * 20,  # 1,024 bytes: the longest key S3 allows
]


def test_keys_longer_than_s3_allows(gateway, user, kb) -> None:
    key = "/".join(["k" * 200] * 5) + "x" * 21  # 1,025 bytes (the node refuses it too)
    r = send(signed("PUT", f"{gateway.url}/{kb}/{key}", body=b"x", key=user.key,
                    secret=user.secret))  # fmt: skip
    assert r.status_code == 400 and error(r) == "KeyTooLongError", r.text


def test_ordinary_keys_still_work(gateway, user, kb, node) -> None:
    s3 = gateway.client(key=user.key, secret=user.secret)
    for key in ORDINARY:
        body = b"" if key.endswith("/") else key.encode()
        s3.put_object(Bucket=kb, Key=key, Body=body)
        assert s3.get_object(Bucket=kb, Key=key)["Body"].read() == body
        assert node.get_object(Bucket=kb, Key=key)["Body"].read() == body
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=kb)["Contents"]]
    assert set(ORDINARY) <= set(listed)
    s3.copy_object(Bucket=kb, Key="copy of ✓", CopySource={"Bucket": kb, "Key": ORDINARY[2]})
    assert node.get_object(Bucket=kb, Key="copy of ✓")["Body"].read() == ORDINARY[2].encode()
    answer = s3.delete_objects(
        Bucket=kb, Delete={"Objects": [{"Key": k} for k in [*ORDINARY, "copy of ✓"]]}
    )
    assert not answer.get("Errors")
    assert not set(ORDINARY) & set(node_keys(node, kb))
