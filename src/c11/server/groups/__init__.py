"""Groups as recipients (issue 7): group key pairs whose private key is wrapped to each member; recovery keys."""
