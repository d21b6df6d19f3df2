"""A throwaway S3-compatible server on a loopback port (moto's server: the S3 REST API over HTTP),
with one bucket, for the DuckLake tests whose data path is an s3:// URL."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
from collections.abc import Iterator

KEY_ID = "commstats-test-key"
SECRET = "commstats-test-secret"
REGION = "us-east-1"


@dataclasses.dataclass(frozen=True)
class S3Server:
    host: str
    port: int
    bucket: str

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )

    def keys(self, prefix: str = "") -> list[str]:
        """Every object's key under `prefix`, across pages."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def available() -> str | None:
    """None when a server can start here, else why not."""
    for module in ("moto.server", "boto3", "flask"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"no S3-compatible server for the tests: {module} is not installed (pip install 'moto[server]')"
        except ModuleNotFoundError:
            return f"no S3-compatible server for the tests: {module} is not installed (pip install 'moto[server]')"
    return None


@contextlib.contextmanager
def s3_server(bucket: str = "commstats") -> Iterator[S3Server]:
    """The server on 127.0.0.1 at a free port with `bucket` made; stopped on leaving."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = S3Server(host, port, bucket)
        s3.client().create_bucket(Bucket=bucket)
        yield s3
    finally:
        server.stop()
