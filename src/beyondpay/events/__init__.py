"""Events: what changed, recorded in the transaction of the change, numbered after commit."""
