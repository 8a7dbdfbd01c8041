"""Card numbers: the Luhn check (ISO/IEC 7812) every module that sees a card number shares: the
payment methods that tokenize one, the sandbox card rail, the log redactor that masks one.

Here and not in ``kit.upi``: Luhn is the card number's check digit, nothing of UPI.
"""

from __future__ import annotations


def luhn_valid(digits: str) -> bool:
    """Whether the last of ``digits`` (ASCII digits only, as the caller checked) is the Luhn
    check digit of the others."""
    total = 0
    for index, character in enumerate(reversed(digits)):
        value = int(character)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0
