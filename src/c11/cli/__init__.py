"""The `c11` command line: thin commands over the SDK, loaded lazily so `c11 --help` is fast."""
