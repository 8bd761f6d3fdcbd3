"""Cloud-stored keys in shards (docs/shards.md): the c11 server's own shard store and the tokens other stores trust."""
