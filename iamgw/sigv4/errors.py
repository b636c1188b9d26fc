"""The one S3 error iamgw.errors lacks for SigV4 bodies."""

from __future__ import annotations

from iamgw.errors import S3Error


class BadDigest(S3Error):
    """A trailing checksum (x-amz-checksum-*) that does not match the body."""

    code = "BadDigest"
    status = 400
    default_message = "The checksum you specified did not match the calculated checksum."
