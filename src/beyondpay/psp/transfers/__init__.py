"""PSP transfers: pay, collect, limits and the payer's history."""
