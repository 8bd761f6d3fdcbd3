"""Organizations (SPEC F18, F19): members, admins and their permissions, groups, organization policies."""
