"""Bytes to text: byte-order marks, UTF-8, and any other encoding charset-normalizer can tell."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class UndecodableError(ValueError):
    """The bytes are not text in any encoding we can recognise."""


def decode_text(data: bytes) -> str:
    """Decode ``data`` as text, trying its BOM, then UTF-8, then a detected encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableError(
                    f"invalid {encoding} text after its byte-order mark"
                ) from exc
    if b"\x00" in data:
        return _decode_utf16_without_bom(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise UndecodableError("not text in any recognised encoding (binary file?)")
    return str(best)


def _decode_utf16_without_bom(data: bytes) -> str:
    """Text with NUL bytes is UTF-16 when the NULs sit on one side of each byte pair (as the
    high byte of Latin-script characters); anywhere else they mark a binary file."""
    sample = data[:4096]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    pairs = len(sample) // 2 or 1
    if max(even_nuls, odd_nuls) > 0.3 * pairs and min(even_nuls, odd_nuls) < 0.02 * pairs:
        encoding = "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            if sum(ch.isprintable() or ch.isspace() for ch in text) > 0.95 * len(text):
                return text
    raise UndecodableError("binary file (contains NUL bytes), not text")
