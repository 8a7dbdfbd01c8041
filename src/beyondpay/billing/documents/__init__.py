"""Billing documents: what a GST tax invoice or credit note says (``domain``), its amount in
words in Indian numbering (``words``), its PDF (``pdf``), and the email that carries the PDF
(``service``). The lowest part of billing: it imports no other part, and the parts above fill
its ``InvoiceDocument`` from their own objects.
"""
