"""Secure Document Send (F23) and persistent share links (F24): docs/sharing.md."""
