"""PSP addresses: VPAs, private aliases, merchant VPAs and UPI QR codes."""
