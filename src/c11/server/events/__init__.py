"""Usage monitoring (docs/organizations.md): events of an organization, indexed from the log, for admins."""
