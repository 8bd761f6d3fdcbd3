"""The key server (docs/keyserver.md): its own key pair, and online-policy documents (release, revoke, expiry,
recipients, access history). See docs/keyserver.md."""
