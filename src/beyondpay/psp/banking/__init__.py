"""PSP banking: the payer's bank accounts at the (sandbox) banks and the UPI PIN."""
