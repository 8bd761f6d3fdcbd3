"""Groups as recipients (docs/organizations.md): group keys wrapped to each member; recovery keys."""
