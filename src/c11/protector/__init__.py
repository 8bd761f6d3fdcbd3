"""Cloud Protector (SPEC F32, docs/protector.md): connect storage, find sensitive files, protect them in place.

Runs on the organization's side, never inside `c11 serve`: `storage` (backends behind one `Storage` protocol),
`connections` (named locations and their credentials) and `detect` (classification of content).
"""
