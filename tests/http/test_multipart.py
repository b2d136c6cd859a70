"""The file of a multipart/form-data body, as clients encode it; anything else is the right error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metricscore as mc
from metricscore.errors import MetricscoreError, ValidationError
from metricscore.http.dialect import UnsupportedMediaType
from metricscore.http.multipart import form_file


def _part(name: str, content: bytes, boundary: str = "b", disposition: str = "") -> bytes:
    disposition = disposition or f'form-data; name="{name}"'
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"


def test_the_named_part_is_found_among_others_whatever_its_quoting() -> None:
    body = (
        b"a preamble to skip\r\n"
        + _part("note", b"not this one", "x y")
        + _part("", b"a,b\r\n1,2\r\n\r\n", "x y", 'form-data; filename="a; name=file.csv"; name="file"')
        + b"--x y--\r\nan epilogue"
    )
    assert form_file('multipart/form-data; boundary="x y"', body, "file") == b"a,b\r\n1,2\r\n\r\n"
    assert form_file("Multipart/Form-Data;boundary=b", _part("file", b"") + b"--b--", "file") == b""


@pytest.mark.parametrize(
    ("content_type", "body", "error", "field"),
    [
        ("text/csv", b"a,b\r\n", UnsupportedMediaType, None),
        (None, b"", UnsupportedMediaType, None),
        ("multipart/form-data", _part("file", b"x") + b"--b--", ValidationError, "_schema"),  # no boundary
        ("multipart/form-data; boundary=\u00e9", b"", ValidationError, "_schema"),
        ("multipart/form-data; boundary=b", _part("file", b"x"), ValidationError, "_schema"),  # not closed
        (
            "multipart/form-data; boundary=b",
            b'--b\nContent-Disposition: form-data; name="file"\n\nx\n--b--',
            ValidationError,
            "_schema",
        ),
        ("multipart/form-data; boundary=b", _part("files", b"x") + b"--b--", ValidationError, "file"),
    ],
)
def test_what_is_not_a_form_with_the_file_is_refused(
    content_type: str | None, body: bytes, error: type[Exception], field: str | None
) -> None:
    with pytest.raises(error) as caught:
        form_file(content_type, body, "file")
    if field is not None:
        assert isinstance(caught.value, ValidationError) and list(caught.value.errors) == [field]


CSV_CELLS = ["eventType", "customerAlias", "eventTimestamp", "x", "", '"', "2024-01-01", "\x00"]
_BOUNDARY_LIKE = st.sampled_from(["b", "x y", "--", "b\r\n", "\u00e9", ""])
_PIECES = st.sampled_from(
    [b"--b", b"--b--", b"\r\n", b"\n", b"\r\n\r\n", b'Content-Disposition: form-data; name="file"', b"eventType,"]
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.one_of(st.none(), st.text(max_size=60), _BOUNDARY_LIKE.map(lambda b: f"multipart/form-data; boundary={b}")),
    st.one_of(st.binary(max_size=200), st.lists(st.one_of(_PIECES, st.binary(max_size=8)), max_size=12).map(b"".join)),
)
def test_any_content_type_and_body_gives_the_file_or_a_metricscore_error(content_type: str | None, body: bytes) -> None:
    with contextlib.suppress(MetricscoreError):
        assert isinstance(form_file(content_type, body, "file"), bytes)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        st.lists(
            st.lists(
                st.sampled_from(["eventType", "customerAlias", "eventTimestamp", "x", "", '"', "2024-01-01", "\x00"])
            ),
            max_size=5,
        ).map(lambda rows: "\r\n".join(",".join(row) for row in rows)),
    )
)
def test_any_csv_upload_stores_its_events_or_raises_a_metricscore_error(data: bytes | str) -> None:
    events = mc.open_store("memory://").sequence.usage_events(account_id="acct")
    try:
        answer = events.upload_csv(data)
    except MetricscoreError:
        assert events.list().results == []  # all or nothing
    else:
        assert answer["eventCount"] == len(events.list(limit=1000).results)
