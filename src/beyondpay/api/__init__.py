"""HTTP plumbing every module's routes use: errors, request ids, metrics, body limits."""
