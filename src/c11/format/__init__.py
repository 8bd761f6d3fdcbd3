"""The c11 byte formats: header, STREAM payload, armor and bundles (specified in docs/format.md)."""
