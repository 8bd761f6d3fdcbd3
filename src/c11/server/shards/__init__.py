"""Cloud-stored keys in shards (SPEC F7): the c11 server's own shard store and the tokens other stores trust."""
