"""Create MLflow's artifact bucket in MinIO before the server starts. Plumbing, rarely edited.

Why a script: MinIO starts with no buckets and MLflow refuses to upload to a missing one;
doing it here avoids an extra init container.
"""

from __future__ import annotations

import os
import sys

import boto3
from botocore.exceptions import ClientError


def main() -> int:
    """Create the bucket named by MLFLOW_BUCKET unless it already exists."""
    bucket = os.environ.get("MLFLOW_BUCKET", "mlflow")
    client = boto3.client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        client.create_bucket(Bucket=bucket)
        print(f"created bucket {bucket}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
