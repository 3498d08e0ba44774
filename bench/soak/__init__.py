"""make soak: thousands of signed events through a stack whose chat server, worker and Redis misbehave."""
