"""The fast path of form decoding answers exactly as qs-codec, or leaves the body to it."""

from __future__ import annotations

import qs_codec
from hypothesis import given, settings
from hypothesis import strategies as st

from beyondpay.api.params import _DECODE, decode_flat_form, decode_form

# Pieces a form body is made of, the awkward ones included: brackets plain and escaped, list
# indexes, '+' for space, malformed and non-UTF-8 escapes, a literal replacement character.
_PIECES = st.sampled_from(
    [
        "name", "email", "metadata", "a", "b", "0", "7", "order", " ", "+", "=", "&", "[", "]",
        "[]", "[0]", "[x]", "%5B", "%5D", "%5b", "%5d", "%5Bk%5D", "%", "%zz", "%FF", "%C3%A9",
        "%EF%BF%BD", "%2B", "%26", "%3D", "%20",
        "é", ".", "?", ";",
    ]
)  # fmt: skip
_BODIES = st.lists(_PIECES, max_size=16).map("".join)


def _qs(text: str) -> object:
    try:
        return qs_codec.decode(text, _DECODE)
    except (ValueError, IndexError) as exc:
        return type(exc)


@settings(max_examples=3_000)
@given(_BODIES)
def test_the_fast_path_agrees_with_qs_codec(text: str) -> None:
    flat = decode_flat_form(text)
    if flat is not None:
        assert flat == _qs(text)


@given(
    st.dictionaries(
        st.text("abcdefghij_", min_size=1, max_size=8),
        st.text(max_size=12) | st.dictionaries(st.text("klmnop_", min_size=1), st.text()),
        max_size=6,
    )
)
def test_flat_bodies_take_the_fast_path(params: dict[str, object]) -> None:
    text = qs_codec.encode(params)
    flat = decode_flat_form(text)
    expected = qs_codec.decode(text, _DECODE)
    assert flat is None or flat == expected
    if "\ufffd" not in text and all(value != {} for value in params.values()):
        assert flat == expected


def test_a_customer_body() -> None:
    body = b"name=Asha+R&email=asha%40example.com&metadata%5Border%5D=7&metadata[tier]=gold"
    assert decode_flat_form(body.decode()) == {
        "name": "Asha R",
        "email": "asha@example.com",
        "metadata": {"order": "7", "tier": "gold"},
    }
    assert decode_form(b"items[0][price]=p&expand[]=a") == {
        "items": [{"price": "p"}],
        "expand": ["a"],
    }
