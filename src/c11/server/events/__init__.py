"""Usage monitoring (SPEC F22): events of an organization, indexed from the log, for admins."""
