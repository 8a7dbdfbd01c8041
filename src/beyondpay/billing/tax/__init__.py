"""Tax: India's GST (GSTINs, state codes, place of supply, CGST + SGST or IGST, financial years
and invoice numbers), Stripe's tax rates (``/v1/tax_rates``) and tax ids, the customers' and the
merchant's own (``/v1/customers/{customer}/tax_ids``, ``/v1/tax_ids``)."""
