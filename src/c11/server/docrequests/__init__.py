"""Secure Document Request (F25): requests and templates, the recipient's link routes (docs/sharing.md)."""
