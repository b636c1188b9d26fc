"""A gateway in front of the SeaweedFS peer, with users of each kind the S3 tests need."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.iam_helpers import Keys, make_user

READONLY = "arn:aws:iam::000000000000:policy/readonly"
HOME_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ListOwnHome",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::shared",
            "Condition": {
                "StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}/"]}
            },
        },
        {
            "Sid": "OwnHome",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": "arn:aws:s3:::shared/home/${aws:username}/*",
        },
    ],
}


@pytest.fixture(scope="session")
def gateway(seaweedfs, tmp_path_factory) -> Iterator[GatewayServer]:
    with running_gateway(tmp_path_factory.mktemp("gateway"), seaweedfs) as server:
        yield server


@pytest.fixture(scope="session")
def node(seaweedfs):
    """A client straight to the storage node, to see what really is there."""
    return boto3.client("s3", endpoint_url=seaweedfs.endpoint, region_name="us-east-1",
                        aws_access_key_id=seaweedfs.access_key,
                        aws_secret_access_key=seaweedfs.secret_key)  # fmt: skip


@pytest.fixture(scope="session")
def reader(gateway) -> Keys:
    return make_user(gateway, "reader", managed=[READONLY])


@pytest.fixture(scope="session")
def alice(gateway) -> Keys:
    return make_user(gateway, "alice", inline=HOME_POLICY)


@pytest.fixture(scope="session")
def root_s3(gateway):
    return gateway.client()
