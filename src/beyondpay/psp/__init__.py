"""The UPI PSP: the payer side of UPI that a PSP app (a phone) talks to, under ``/v1/psp``.

It is one module in four parts, layered so that each builds on the ones before it (import-linter
checks the order): ``identity`` (payers, OTP, sessions, devices, passkeys) ← ``banking`` (linked
bank accounts and the UPI PIN) ← ``addresses`` (VPAs, private aliases, merchant VPAs, QR) ←
``transfers`` (pay, collect, limits, history). Each part has the usual file set.
"""
