"""PSP identity: payers, one-time passwords, sessions, devices and passkeys."""
