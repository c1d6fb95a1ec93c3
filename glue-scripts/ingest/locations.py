"""Locations the jobs are given as arguments: s3:// URIs, and JSON documents stored at one."""

from __future__ import annotations

import json
from urllib.parse import urlparse


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key or prefix) of an s3:// URI; raises ValueError for anything else."""
    location = urlparse(uri)
    if location.scheme != "s3" or not location.netloc:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return location.netloc, location.path.lstrip("/")


def load_json(s3, uri: str) -> dict:
    """A JSON document from an s3:// URI, or from a local path or file:// URI (local runs)."""
    location = urlparse(uri)
    if location.scheme == "s3":
        bucket, key = split_s3_uri(uri)
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    with open(location.path if location.scheme == "file" else uri, encoding="utf-8") as document:
        return json.load(document)
