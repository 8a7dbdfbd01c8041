"""Payment Links (issue 19): a shareable URL that opens a new Checkout Session per visit."""
