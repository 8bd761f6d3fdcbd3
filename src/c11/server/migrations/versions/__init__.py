"""Revisions, oldest first; each one only adds, so older servers keep working during a rollout.

A new revision's `down_revision` is the current head.
"""
