"""Handle names (RFC 3650/3651): parse, normalise and print `prefix/suffix`.

A handle is a naming-authority prefix and a local-name suffix joined by the first "/":

- the prefix is ASCII, case-insensitive, made of dot-separated segments
  (`20.500.12345`, `88.100.1`, `0.NA`); it is normalised to lower case;
- the suffix is any non-empty UTF-8 text without control characters; it is case-sensitive
  and may itself contain "/".

Limits chosen here (RFC 3651 sets none below the protocol's 4-byte lengths): a prefix segment
has 1–63 characters from `A-Z a-z 0-9 - _`, a prefix has at most 255 characters, and the whole
handle encodes to at most 1024 UTF-8 bytes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from identifiers.errors import InvalidHandle

MAX_PREFIX_CHARS = 255
MAX_SEGMENT_CHARS = 63
MAX_HANDLE_BYTES = 1024

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


def _check_prefix(prefix: str, text: str) -> str:
    if not prefix:
        raise InvalidHandle(f"empty prefix in handle {text!r}")
    if len(prefix) > MAX_PREFIX_CHARS:
        raise InvalidHandle(f"prefix longer than {MAX_PREFIX_CHARS} characters")
    for number, segment in enumerate(prefix.split("."), start=1):
        if not segment:
            raise InvalidHandle(f"empty segment {number} in prefix {prefix!r}")
        if len(segment) > MAX_SEGMENT_CHARS:
            raise InvalidHandle(
                f"prefix segment {number} is longer than {MAX_SEGMENT_CHARS} characters"
            )
        if not _SEGMENT.fullmatch(segment):
            raise InvalidHandle(
                f"prefix segment {segment!r} may only contain ASCII letters, digits, '-' and '_'"
            )
    return prefix.lower()


def _check_suffix(suffix: str, text: str) -> str:
    if not suffix:
        raise InvalidHandle(f"empty suffix in handle {text!r}")
    if suffix.isascii() and suffix.isprintable():  # the common case: no control characters
        return suffix
    for position, char in enumerate(suffix):
        if unicodedata.category(char) in ("Cc", "Cs"):
            kind = "surrogate" if unicodedata.category(char) == "Cs" else "control character"
            raise InvalidHandle(f"suffix contains a {kind} U+{ord(char):04X} at {position}")
    return suffix


@dataclass(frozen=True, slots=True)
class Handle:
    """A valid, normalised handle; build it with `Handle.parse` or `Handle.of`."""

    prefix: str
    suffix: str

    def __post_init__(self) -> None:
        text = f"{self.prefix}/{self.suffix}"
        if "/" in self.prefix:
            raise InvalidHandle(f"prefix {self.prefix!r} contains '/'")
        prefix = _check_prefix(self.prefix, text)
        if prefix != self.prefix:
            raise InvalidHandle(f"prefix {self.prefix!r} is not normalised; use Handle.of")
        _check_suffix(self.suffix, text)
        if len(text.encode("utf-8")) > MAX_HANDLE_BYTES:
            raise InvalidHandle(f"handle is longer than {MAX_HANDLE_BYTES} UTF-8 bytes")

    @classmethod
    def of(cls, prefix: str, suffix: str) -> Handle:
        """Build from parts, lower-casing the prefix."""
        if not isinstance(prefix, str) or not isinstance(suffix, str):
            raise InvalidHandle("prefix and suffix must be strings")
        if "/" in prefix:
            raise InvalidHandle(f"prefix {prefix!r} contains '/'")
        return cls(_check_prefix(prefix, f"{prefix}/{suffix}"), suffix)

    @classmethod
    def parse(cls, text: str) -> Handle:
        """Parse the plain `prefix/suffix` form (no `hdl:`, no URL)."""
        if not isinstance(text, str):
            raise InvalidHandle("a handle must be a string")
        prefix, slash, suffix = text.partition("/")
        if not slash:
            raise InvalidHandle(f"handle {text!r} has no '/' between prefix and suffix")
        return cls.of(prefix, suffix)

    def __str__(self) -> str:
        return f"{self.prefix}/{self.suffix}"

    @property
    def prefix_handle(self) -> Handle:
        """The naming-authority handle `0.na/<prefix>` that administers this prefix."""
        return Handle("0.na", self.prefix)

    def uri(self) -> str:
        """The `hdl:prefix/suffix` form used as a canonical object name."""
        return f"hdl:{self}"

    def proxy_url(self, base: str) -> str:
        """The proxy URL `base/prefix/suffix`, with the suffix percent-encoded."""
        return f"{base.rstrip('/')}/{self.prefix}/{quote(self.suffix, safe='/')}"


def parse_handle_reference(text: str) -> Handle:
    """Parse a handle written as `prefix/suffix`, `hdl:…`, `doi:…` or a proxy URL.

    A proxy URL is `http(s)://host/prefix/suffix`; its suffix is percent-decoded and any
    query or fragment (such as `?noredirect`) is ignored.
    """
    if not isinstance(text, str):
        raise InvalidHandle("a handle reference must be a string")
    lowered = text[:8].lower()
    if lowered.startswith(("hdl:", "doi:")):
        return Handle.parse(text[4:])
    if lowered.startswith(("http://", "https://")):
        try:
            parts = urlsplit(text)
        except ValueError as exc:
            raise InvalidHandle(f"proxy URL {text!r} is malformed: {exc}") from exc
        if not parts.netloc:
            raise InvalidHandle(f"proxy URL {text!r} has no host")
        path = parts.path.lstrip("/")
        try:
            decoded = unquote(path, errors="strict")
        except UnicodeDecodeError as exc:
            raise InvalidHandle(f"proxy URL {text!r} is not UTF-8 after percent-decoding") from exc
        return Handle.parse(decoded)
    return Handle.parse(text)
