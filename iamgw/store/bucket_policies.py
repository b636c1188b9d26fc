"""S3 bucket policies, one document a bucket."""

from __future__ import annotations

from .base import RepositoryBase
from .tables import BucketPolicy, utcnow


class BucketPolicies(RepositoryBase):
    def put_bucket_policy(self, bucket: str, document: str) -> None:
        with self._write() as s:
            row = s.get(BucketPolicy, (self.account_id, bucket)) or BucketPolicy(
                account_id=self.account_id, bucket=bucket, document=document
            )
            row.document, row.updated = document, utcnow()
            s.add(row)

    def get_bucket_policy(self, bucket: str) -> str | None:
        with self._read() as s:
            row = s.get(BucketPolicy, (self.account_id, bucket))
            return row.document if row else None

    def delete_bucket_policy(self, bucket: str) -> bool:
        """False when the bucket had no policy."""
        with self._write() as s:
            row = s.get(BucketPolicy, (self.account_id, bucket))
            if row is not None:
                s.delete(row)
            return row is not None
