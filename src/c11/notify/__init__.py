"""Email notifications (docs/notifications.md): templates, transports (outbox folder, SMTP, Microsoft Graph),
the Graph certificate and set-up guide, failure diagnosis, and the outbox delivery worker.

Messages carry links, never a protected document or a secret.
"""
