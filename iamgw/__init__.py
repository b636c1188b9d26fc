"""iamgw: identity and access gateway for S3-compatible object stores."""
