"""Real storage servers for the protector tests, each started on free loopback ports in a temporary folder and
stopped by its own process id: SeaweedFS (S3), Samba (SMB), Azurite (Azure Blob), gcp-storage-emulator (GCS)."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    """A helper module of another test folder (tests/sharing/weedkit.py), loaded once by its path."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: SeaweedFS with S3 identities (one access key and secret), from the sharing tests
weedkit = _load("weedkit", TESTS / "sharing" / "weedkit.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
