"""The sandbox rails: a card network with 3-D Secure, a UPI switch with banks, net banking."""
