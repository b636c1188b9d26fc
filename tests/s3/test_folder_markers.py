"""`K` and `K/` are one entry on the node (SeaweedFS keeps the marker `K/` as the
directory `K`): an explicit Deny on either name protects both. Found while probing key
forms: with writes denied on `B/prot/*`, `DELETE B/prot` deleted the marker `prot/`."""

from __future__ import annotations

import botocore.exceptions
import pytest

from tests.iam_helpers import make_user

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::markers/*"},
        {
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": "arn:aws:s3:::markers/prot/*",
        },
    ],
}


@pytest.fixture(scope="module")
def user_s3(gateway, root_s3):
    root_s3.create_bucket(Bucket="markers")
    root_s3.put_object(Bucket="markers", Key="prot/", Body=b"")
    root_s3.put_object(Bucket="markers", Key="open/", Body=b"")
    keys = make_user(gateway, "marker-user", inline=POLICY)
    return gateway.client(key=keys.key, secret=keys.secret)


def marker_exists(node, key: str) -> bool:
    try:
        node.head_object(Bucket="markers", Key=key)
    except botocore.exceptions.ClientError:
        return False
    return True


def test_the_node_keeps_k_and_k_slash_in_one_entry(user_s3, node, root_s3) -> None:
    root_s3.put_object(Bucket="markers", Key="probe/", Body=b"")
    node.delete_object(Bucket="markers", Key="probe")  # straight to the node
    assert not marker_exists(node, "probe/")


def test_deleting_or_replacing_a_denied_marker_by_its_other_name(user_s3, node) -> None:
    for call in (
        lambda: user_s3.delete_object(Bucket="markers", Key="prot"),
        lambda: user_s3.put_object(Bucket="markers", Key="prot", Body=b"file"),
    ):
        with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
            call()
    answer = user_s3.delete_objects(Bucket="markers", Delete={"Objects": [{"Key": "prot"}]})
    assert [e["Code"] for e in answer.get("Errors", [])] == ["AccessDenied"]
    assert marker_exists(node, "prot/")


def test_markers_without_a_deny_stay_usable(user_s3, node) -> None:
    user_s3.delete_object(Bucket="markers", Key="open")
    assert not marker_exists(node, "open/")
    user_s3.put_object(Bucket="markers", Key="open/", Body=b"")
    assert marker_exists(node, "open/")
