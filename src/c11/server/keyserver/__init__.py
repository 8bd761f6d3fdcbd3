"""The key server (SPEC F6, F14): its own key pair, and online-policy documents (release, revoke, expiry,
recipients, access history). See docs/keyserver.md."""
