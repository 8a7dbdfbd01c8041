"""Disputes: a captured payment the card network (a chargeback) or the UPI switch (NPCI's
chargeback, raised through UDIR) took back; its evidence, its outcome, its money."""
