"""The c11 desktop app (issue 21, SPEC F30): a Qt window over the SDK's `c11.client.workstation.Workstation`.

UI only: every action is an SDK call run on a worker thread (`_tasks`); `instance` keeps one app per user
session so that a double-clicked file opens in the running window. Needs the `desktop` extra (PySide6).
"""

from __future__ import annotations
