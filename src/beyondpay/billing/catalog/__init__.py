"""The catalog: products, prices, coupons and promotion codes (Stripe's objects), with a
product's HSN/SAC code for GST invoices."""
