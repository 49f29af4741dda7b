"""Reference RFC 862 echo servers and TCP relays, one concurrency model per module."""
