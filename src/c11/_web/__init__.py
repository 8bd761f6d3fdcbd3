"""Plumbing shared by the services (server, shard store, notifications) and the clients that talk to them.

RFC 9457 problems, request body caps, the database helpers, the shard-token format and OPAQUE: below every
service and client, so none of them imports another (docs/server.md, "Layers").
"""
