"""Admin API of notifications (docs/notifications.md): transport, status, Graph set-up and test.

For the admins of the operator organization only.
"""
