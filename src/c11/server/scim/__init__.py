"""SCIM 2.0 (RFC 7643, RFC 7644): identity providers provision members and groups of an organization."""
