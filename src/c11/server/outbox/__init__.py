"""The server's side of the one outbox (docs/notifications.md, "The outbox"): emails are rows written in the
same transaction as the change that causes them; `c11.notify`'s worker delivers them.
"""
