"""The one file of a ``multipart/form-data`` request body (RFC 7578), as an upload route reads it.

Only what an upload needs: the part whose ``Content-Disposition`` names the wanted field, its
bytes as sent. Parts are separated by CRLF and the boundary, as every HTTP client writes them.
"""

from __future__ import annotations

import re

from ..errors import ErrorMessage, ValidationError
from .dialect import UnsupportedMediaType, parse_error

__all__ = ["FORM_DATA", "form_file"]

FORM_DATA = "multipart/form-data"
_PARAMETER = re.compile(r';\s*([\w!#$%&\'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _parameters(header: str) -> dict[str, str]:
    """The ``; name=value`` parameters of a header value (quoted values unquoted), names lowercased."""
    found: dict[str, str] = {}
    for name, quoted, plain in _PARAMETER.findall(header):
        found.setdefault(name.lower(), re.sub(r"\\(.)", r"\1", quoted) if quoted else plain)
    return found


def form_file(content_type: str | None, body: bytes, field: str) -> bytes:
    """The content of the part named ``field`` of a ``multipart/form-data`` ``body``.

    Another content type is an UnsupportedMediaType (415); a body that is not multipart as its
    boundary says is a parse error (400); no part named ``field`` is a ValidationError on it.
    """
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind != FORM_DATA:
        raise UnsupportedMediaType(kind)
    boundary = _parameters(content_type or "").get("boundary", "")
    if not 1 <= len(boundary) <= 70 or not boundary.isascii():
        raise parse_error("Multipart form parse error - a boundary of 1 to 70 ASCII characters is required.")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 2 or not sections[-1].startswith(b"--"):
        raise parse_error("Multipart form parse error - the body does not end with its closing boundary.")
    for section in sections[1:-1]:  # the first is the preamble, the last the epilogue
        head, separator, content = section.lstrip(b" \t").removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise parse_error("Multipart form parse error - a part has no blank line after its headers.")
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-disposition" and _parameters(value).get("name") == field:
                return content
    raise ValidationError({field: [ErrorMessage("No file was submitted.", "required")]})
