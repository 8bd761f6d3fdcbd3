"""Encryption policies (SPEC F21): recent recipient sets, offered again. See docs/registry.md.
"""
