"""Bodies the gateway answers itself are verified as forwarded ones are: a bucket policy
and a DeleteObjects list act on exactly the bytes that were signed (a sibling of the
IAM/STS finding: both were read raw, whatever x-amz-content-sha256 said)."""

from __future__ import annotations

import hashlib
import json

import botocore.exceptions
import pytest

from tests.iam_helpers import make_user
from tests.s3.test_attacks import error, send, signed

PUBLIC_READ = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::gwbodies/*"}],
})  # fmt: skip
OWN_ONLY = PUBLIC_READ.replace(
    '"Principal": "*"', '"Principal": {"AWS": "arn:aws:iam::000000000000:root"}'
)


def delete_body(key: str) -> bytes:
    return (f'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>{key}</Key>'
            "</Object></Delete>").encode()  # fmt: skip


@pytest.fixture(scope="module")
def bucket(root_s3) -> str:
    root_s3.create_bucket(Bucket="gwbodies")
    for key in ("mine", "theirs"):
        root_s3.put_object(Bucket="gwbodies", Key=key, Body=key.encode())
    return "gwbodies"


def test_a_swapped_bucket_policy_is_refused(gateway, bucket, root_s3) -> None:
    url = f"{gateway.url}/{bucket}?policy"
    request = signed("PUT", url, body=OWN_ONLY.encode())
    r = send(request, body=PUBLIC_READ.encode().ljust(len(OWN_ONLY)))
    assert r.status_code == 400 and error(r) == "XAmzContentSHA256Mismatch", r.text
    with pytest.raises(botocore.exceptions.ClientError, match="NoSuchBucketPolicy"):
        root_s3.get_bucket_policy(Bucket=bucket)
    assert send(request).status_code == 204  # the signed body itself is stored
    assert json.loads(root_s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(OWN_ONLY)
    root_s3.delete_bucket_policy(Bucket=bucket)


def test_an_unsigned_policy_body_is_verified_against_its_declared_hash(gateway, bucket) -> None:
    digest = hashlib.sha256(b"{}").hexdigest()
    request = signed("PUT", f"{gateway.url}/{bucket}?policy", body=b"{}", payload_hash=digest)
    r = send(request, body=PUBLIC_READ.encode())
    assert r.status_code == 400 and error(r) == "XAmzContentSHA256Mismatch", r.text


def test_a_swapped_delete_list_is_refused(gateway, bucket, node) -> None:
    keys = make_user(gateway, "bulk-deleter", inline={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:DeleteObject",
                       "Resource": "arn:aws:s3:::gwbodies/*"}],
    })  # fmt: skip
    request = signed("POST", f"{gateway.url}/{bucket}?delete", body=delete_body("mine"),
                     key=keys.key, secret=keys.secret)  # fmt: skip
    r = send(request, body=delete_body("theirs").ljust(len(delete_body("mine"))))
    assert r.status_code == 400 and error(r) == "XAmzContentSHA256Mismatch", r.text
    assert node.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"theirs"
    r = send(request)
    assert r.status_code == 200 and "<Deleted>" in r.text, r.text
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket=bucket, Key="mine")
    assert node.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"theirs"


def presigned_put(url: str, bucket: str, key: str, payload_hash: str) -> str:
    """A presigned PUT whose signature covers X-Amz-Content-Sha256 (botocore presigns
    UNSIGNED-PAYLOAD only, so this one is built from the SigV4 spec with iamgw.sigv4)."""
    from datetime import UTC, datetime
    from urllib.parse import quote, urlsplit

    from iamgw.sigv4 import canonical_request, credential_scope, signing_key, string_to_sign
    from iamgw.sigv4.signing import signature
    from tests.gateway_server import ROOT_KEY, ROOT_SECRET

    now = datetime.now(UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = credential_scope(day, "us-east-1", "s3")
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Content-Sha256": payload_hash,
        "X-Amz-Credential": f"{ROOT_KEY}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": "300",
        "X-Amz-SignedHeaders": "host",
    }
    query = "&".join(f"{k}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))
    host = urlsplit(url).netloc
    canonical = canonical_request(
        "PUT", f"/{bucket}/{key}", query, {"host": host}, ["host"], payload_hash
    )
    sig = signature(
        signing_key(ROOT_SECRET, day, "us-east-1", "s3"), string_to_sign(amz_date, scope, canonical)
    )
    return f"{url}/{bucket}/{key}?{query}&X-Amz-Signature={sig}"


def test_a_presigned_payload_hash_is_verified(gateway, bucket, node) -> None:
    """Review finding: the hash a presigned URL's signature covers was never compared
    with the body, so any body was stored."""
    import httpx

    signed_body = b"GOOD CONTENT"
    url = presigned_put(gateway.url, bucket, "presigned", hashlib.sha256(signed_body).hexdigest())
    r = httpx.put(url, content=b"EVIL CONTENT, not what was signed")
    assert r.status_code == 400 and error(r) == "XAmzContentSHA256Mismatch", r.text
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket=bucket, Key="presigned")
    assert httpx.put(url, content=signed_body).status_code == 200
    assert node.get_object(Bucket=bucket, Key="presigned")["Body"].read() == signed_body
