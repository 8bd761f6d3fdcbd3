"""Admin API of notifications (issue 5): the transport, status, Graph set-up and test, for the operator organization."""
