"""Notifications: messages to people (email now; SMS and push later), written to an outbox in
the transaction of the change that causes them and sent after commit by a job, through a
pluggable sender. A job run twice sends once: the row records that it was sent, and under which
message id."""
