"""Payment methods: cards, UPI VPAs and net banking banks a merchant charges."""
