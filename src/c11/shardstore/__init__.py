"""The shard store (docs/shards.md, `c11 shard-store serve`): a small separate service, run by another operator if
need be, that keeps one shard of each cloud-stored key in its own SQLite database and hands it out only to the user a
c11 server's store token names, after the fetch is in that server's transparency log (docs/shards.md §6)."""
