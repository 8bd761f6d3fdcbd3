"""Organizations (docs/organizations.md): members, admins and their permissions, groups, organization policies."""
