"""`json_input.loads` reads most bodies with orjson: it must give what the json module
with the strict rules gives, value for value and refusal for refusal."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from jira_sync.domain import json_input


def reference(body: bytes):  # type: ignore[no-untyped-def]
    """The json module alone, as before orjson: the value, or the refusal's message."""
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        return ("value", json_input._DECODER.decode(text))
    except json_input.JsonRejected as exc:
        return ("refused", str(exc))
    except (ValueError, RecursionError):
        return ("refused", None)


def fast(body: bytes):  # type: ignore[no-untyped-def]
    try:
        return ("value", json_input.loads(body))
    except json_input.JsonRejected as exc:
        return ("refused", str(exc))


def same(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Equal, and of the same types all the way down (1 and 1.0 are not the same value here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),  # past int64 and past uint64 on both sides
    st.floats(allow_nan=False, allow_infinity=False),
)
text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)  # surrogates, NUL, anything
values = st.recursive(
    st.none() | st.booleans() | numbers | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(values, st.booleans())
def test_orjson_reads_what_the_strict_decoder_reads(value, ascii_only) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    expected, got = reference(body), fast(body)
    assert got[0] == expected[0], (body, expected, got)
    if expected[0] == "value":
        assert same(got[1], expected[1]), (body, expected, got)
    elif expected[1] is not None:
        assert got[1] == expected[1]


@given(st.sampled_from([
    b'{"a":18446744073709551616}', b'{"a":-9223372036854775809}', b'{"a":9223372036854775808}',
    b'{"a":1e400}', b'{"a":NaN}', b'{"a":"\\ud800"}', b'{"a":"\xed\xa0\x80"}', b"[" * 300 + b"]" * 300,
    b'\xef\xbb\xbf{"a":1}', b'{"a":1} x', b'{"a":"\\u0000"}', '{"a":"é"}'.encode("utf-16"),
]))
def test_the_bodies_orjson_reads_differently_get_the_strict_answer(body: bytes) -> None:
    expected, got = reference(body), fast(body)
    assert got[0] == expected[0]
    if expected[0] == "value":
        assert same(got[1], expected[1])
    elif expected[1] is not None:
        assert got[1] == expected[1]
