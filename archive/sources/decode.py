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
# Files that are certainly not text, by their first bytes: some (a PDF, an image without NUL
# bytes near its start) would otherwise decode in some 8-bit encoding and pass for text.
_SIGNATURES = (
    (b"%PDF-", "PDF document"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x7fELF", "executable"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"BZh91AY&SY", "bzip2 archive"),
    (b"(\xb5/\xfd", "zstd archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM video"),
)
# Invalid bytes in otherwise valid UTF-8 (a truncated character, a stray byte from another
# encoding) are replaced by U+FFFD when there are at least this many valid multi-byte characters
# per invalid sequence; fewer mean the text is in some other encoding altogether (Latin-1 text
# read as UTF-8 has next to no valid multi-byte characters).
_UTF8_VALID_PER_INVALID = 2


class UndecodableError(ValueError):
    """The bytes are not text in any encoding we can recognise."""


def decode_text(data: bytes) -> str:
    """Decode ``data`` as text, trying its BOM, then UTF-8, then a detected encoding.

    Raises :class:`UndecodableError` for binary data (a known file signature, NUL bytes that are
    not UTF-16) and for bytes no encoding fits.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableError(
                    f"invalid {encoding} text after its byte-order mark"
                ) from exc
    refuse_binary(data[:64])
    if b"\x00" in data:
        return _decode_utf16_without_bom(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    repaired = _mostly_utf8(data)
    if repaired is not None:
        return repaired
    best = from_bytes(data).best()
    if best is None:
        raise UndecodableError("binary file: not text in any recognised encoding")
    return str(best)


def refuse_binary(head: bytes) -> None:
    """Raise :class:`UndecodableError` when ``head`` (a file's first bytes) is a binary format."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            raise UndecodableError(f"binary file ({kind}), not text")


def sniff_text_encoding(head: bytes) -> str | None:
    """The UTF-16 or UTF-32 encoding of a text starting with ``head``, by its byte-order mark or
    its NUL bytes; None for other text. Raises :class:`UndecodableError` for binary data."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return None if encoding == "utf-8-sig" else encoding
    refuse_binary(head)
    if b"\x00" not in head:
        return None
    wide = _utf16_byte_order(head)
    if wide is None:
        raise UndecodableError("binary file (contains NUL bytes), not text")
    return wide


def _mostly_utf8(data: bytes) -> str | None:
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - data.count("\ufffd".encode())
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    valid = non_ascii - text.count("\ufffd")
    return text if valid >= _UTF8_VALID_PER_INVALID * invalid else None


def _utf16_byte_order(sample: bytes) -> str | None:
    """UTF-16 has NULs on one side of each byte pair (the high byte of Latin-script characters);
    NULs anywhere else mark a binary file."""
    sample = sample[:4096]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    pairs = len(sample) // 2 or 1
    if max(even_nuls, odd_nuls) > 0.3 * pairs and min(even_nuls, odd_nuls) < 0.02 * pairs:
        return "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
    return None


def _decode_utf16_without_bom(data: bytes) -> str:
    encoding = _utf16_byte_order(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            if sum(ch.isprintable() or ch.isspace() for ch in text) > 0.95 * len(text):
                return text
    raise UndecodableError("binary file (contains NUL bytes), not text")
