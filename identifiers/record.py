"""Handle records: typed, validated values, their plain-JSON form and alias following.

A record is a handle and a list of values, each with a unique positive index. Reserved Handle
System types are validated by shape; tracespace adds five types of its own:

| type         | data                                                    | format |
|--------------|---------------------------------------------------------|--------|
| `TS_CLASS`   | object class: part, batch, carton, pallet, location,    | string |
|              | party or document                                       |        |
| `TS_GS1`     | the object's GS1 key as a canonical Digital Link URI    | string |
|              | (https://id.gs1.org base, key and qualifiers only)      |        |
| `TS_EVENTS`  | http(s) URL of the object's trace events                | string |
| `TS_PCF`     | http(s) URL of its product carbon footprint             | string |
| `TS_QUALITY` | http(s) URL of its quality records                      | string |

Index conventions follow Handle.net clients: URL takes index 1 when free, HS_ADMIN takes
100–199, other values take the lowest free index from 2 outside 100–199.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from identifiers.admin import AdminGrant, AdminIdentity
from identifiers.errors import AliasLoop, InvalidGs1, InvalidHandle, InvalidValue, NotFound
from identifiers.handle import Handle, parse_handle_reference

RECORD_VERSION = 1
DEFAULT_TTL = 86400
MAX_TYPE_CHARS = 255
MAX_DATA_CHARS = 64 * 1024
MAX_ALIAS_HOPS = 10

HS_ADMIN = "HS_ADMIN"
HS_SITE = "HS_SITE"
HS_ALIAS = "HS_ALIAS"
HS_PUBKEY = "HS_PUBKEY"
HS_VLIST = "HS_VLIST"
LOC_10320 = "10320/loc"
URL = "URL"
EMAIL = "EMAIL"
RESERVED_TYPES = frozenset(
    {HS_ADMIN, HS_SITE, HS_ALIAS, HS_PUBKEY, HS_VLIST, LOC_10320, URL, EMAIL}
)

TS_CLASS = "TS_CLASS"
TS_GS1 = "TS_GS1"
TS_EVENTS = "TS_EVENTS"
TS_PCF = "TS_PCF"
TS_QUALITY = "TS_QUALITY"
TRACESPACE_TYPES = frozenset({TS_CLASS, TS_GS1, TS_EVENTS, TS_PCF, TS_QUALITY})

FORMATS = frozenset({"string", "base64", "hex", "admin", "vlist", "site"})


class ObjectClass(StrEnum):
    """What a handle names, stored in TS_CLASS."""

    PART = "part"
    BATCH = "batch"
    CARTON = "carton"
    PALLET = "pallet"
    LOCATION = "location"
    PARTY = "party"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Permissions:
    """Per-value access flags (RFC 3651 §3.1 permission bits)."""

    admin_read: bool = True
    admin_write: bool = True
    pub_read: bool = True
    pub_write: bool = False

    def to_dict(self) -> dict[str, bool]:
        return {
            "admin_read": self.admin_read,
            "admin_write": self.admin_write,
            "pub_read": self.pub_read,
            "pub_write": self.pub_write,
        }


_EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with second precision and "Z", as Handle.net prints it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str, path: str = "$") -> datetime:
    if not isinstance(text, str):
        raise InvalidValue("timestamp must be an ISO 8601 string", path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidValue(f"timestamp {text!r} is not ISO 8601", path) from exc
    if moment.tzinfo is None:
        raise InvalidValue(f"timestamp {text!r} lacks a time zone", path)
    return moment.astimezone(UTC).replace(microsecond=0)


def check_http_url(text: object, path: str = "$") -> str:
    """Return `text` if it is an absolute http(s) URL with a host, else raise InvalidValue."""
    if not isinstance(text, str):
        raise InvalidValue("URL must be a string", path)
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise InvalidValue("URL contains whitespace or control characters", path)
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError as exc:
        raise InvalidValue(f"URL {text!r} is malformed: {exc}", path) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(f"URL {text!r} must be absolute http(s) with a host", path)
    return text


def _check_string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue("value must be a string for format 'string'", path)
    if len(value) > MAX_DATA_CHARS:
        raise InvalidValue(f"value is longer than {MAX_DATA_CHARS} characters", path)
    return value


def _check_loc(value: str, path: str) -> None:
    if "<!" in value:
        raise InvalidValue("10320/loc must not contain DTDs, comments or CDATA", path)
    try:
        root = ElementTree.fromstring(value)
    except ElementTree.ParseError as exc:
        raise InvalidValue(f"10320/loc is not well-formed XML: {exc}", path) from exc
    if root.tag != "locations":
        raise InvalidValue("10320/loc root element must be <locations>", path)
    locations = list(root)
    if not locations:
        raise InvalidValue("10320/loc has no <location>", path)
    for number, location in enumerate(locations):
        if location.tag != "location" or not location.get("href"):
            raise InvalidValue(f"10320/loc child {number} must be <location href=...>", path)


def _check_vlist(value: object, path: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise InvalidValue("HS_VLIST data must be a non-empty list of {handle, index}", path)
    members = []
    for number, item in enumerate(value):
        item_path = f"{path}[{number}]"
        if not isinstance(item, Mapping) or set(item) != {"handle", "index"}:
            raise InvalidValue("HS_VLIST member must be {handle, index}", item_path)
        index = item["index"]
        if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 0x7FFFFFFF:
            raise InvalidValue("HS_VLIST member index must be 1..2147483647", item_path)
        if not isinstance(item["handle"], str):
            raise InvalidValue("HS_VLIST member handle must be a string", item_path)
        try:
            handle = Handle.parse(item["handle"])
        except InvalidHandle as exc:
            raise InvalidValue(exc.reason, f"{item_path}.handle") from exc
        members.append({"handle": str(handle), "index": index})
    return members


def _check_binary(data_format: str, value: object, path: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_DATA_CHARS:
        raise InvalidValue(f"{data_format} data must be a string", path)
    if data_format == "hex":
        if not _HEX.fullmatch(value):
            raise InvalidValue("hex data must be an even number of hex digits", path)
        return value.lower()
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidValue("base64 data is not valid base64", path) from exc
    return value


def normalise_data(value_type: str, data_format: str, value: object, path: str = "$") -> object:
    """Validate `value` for its type and format and return its normalised form."""
    data_path = f"{path}.data.value"
    if not isinstance(data_format, str) or data_format not in FORMATS:
        raise InvalidValue(f"unknown data format {data_format!r}", f"{path}.data.format")
    expected = {HS_ADMIN: "admin", HS_VLIST: "vlist"}.get(value_type)
    if expected and data_format != expected:
        raise InvalidValue(f"{value_type} data must use format {expected!r}", f"{path}.data.format")
    if data_format in ("admin", "vlist") and value_type not in (HS_ADMIN, HS_VLIST):
        raise InvalidValue(f"format {data_format!r} is only for HS_ADMIN/HS_VLIST", path)
    if data_format == "admin":
        return AdminGrant.from_data(value, data_path).to_data()
    if data_format == "vlist":
        return _check_vlist(value, data_path)
    if data_format in ("base64", "hex"):
        if value_type in TRACESPACE_TYPES or value_type in (URL, EMAIL, HS_ALIAS, LOC_10320):
            raise InvalidValue(f"{value_type} data must use format 'string'", path)
        return _check_binary(data_format, value, data_path)
    if data_format == "site":
        if value_type != HS_SITE:
            raise InvalidValue("format 'site' is only for HS_SITE", path)
        if not isinstance(value, Mapping):
            raise InvalidValue("site data must be an object", data_path)
        return dict(value)
    text = _check_string(value, data_path)
    if value_type in (HS_PUBKEY, HS_SITE):
        raise InvalidValue(f"{value_type} data must be binary (base64 or hex)", path)
    if value_type in (URL, TS_EVENTS, TS_PCF, TS_QUALITY):
        return check_http_url(text, data_path)
    if value_type == EMAIL:
        if not _EMAIL.fullmatch(text):
            raise InvalidValue(f"EMAIL {text!r} is not a plausible address", data_path)
        return text
    if value_type == HS_ALIAS:
        try:
            return str(parse_handle_reference(text))
        except InvalidHandle as exc:
            raise InvalidValue(f"HS_ALIAS target: {exc.reason}", data_path) from exc
    if value_type == LOC_10320:
        _check_loc(text, data_path)
        return text
    if value_type == TS_CLASS:
        try:
            return ObjectClass(text).value
        except ValueError:
            names = ", ".join(c.value for c in ObjectClass)
            raise InvalidValue(f"TS_CLASS must be one of {names}", data_path) from None
    if value_type == TS_GS1:
        from identifiers.digital_link import DigitalLink  # deferred: GS1 table loads lazily

        try:
            return DigitalLink.parse(text).without_attributes().uri()
        except InvalidGs1 as exc:
            raise InvalidValue(f"TS_GS1: {exc.reason}", data_path) from exc
    return text


def _check_type(value_type: object, path: str) -> str:
    if not isinstance(value_type, str) or not value_type:
        raise InvalidValue("type must be a non-empty string", path)
    if len(value_type) > MAX_TYPE_CHARS:
        raise InvalidValue(f"type is longer than {MAX_TYPE_CHARS} characters", path)
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "=" for ch in value_type):
        raise InvalidValue("type must not contain whitespace, control characters or '='", path)
    return value_type


def _check_int(value: object, low: int, high: int, what: str, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidValue(f"{what} must be an integer in {low}..{high}", path)
    return value


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One typed value of a handle record. Construct through `HandleValue.make`."""

    index: int
    type: str
    format: str
    value: Any
    ttl: int = DEFAULT_TTL
    timestamp: datetime = field(default_factory=_now)
    references: tuple[AdminIdentity, ...] = ()
    permissions: Permissions = Permissions()

    @classmethod
    def make(
        cls,
        index: int,
        value_type: str,
        value: object,
        *,
        data_format: str | None = None,
        ttl: int = DEFAULT_TTL,
        timestamp: datetime | None = None,
        references: Iterable[AdminIdentity] = (),
        permissions: Permissions | None = None,
        path: str = "$",
    ) -> HandleValue:
        """Validate and normalise; `data_format` defaults by type (admin, vlist or string)."""
        _check_int(index, 1, 0x7FFFFFFF, "index", f"{path}.index")
        _check_type(value_type, f"{path}.type")
        _check_int(ttl, 0, 0x7FFFFFFF, "ttl", f"{path}.ttl")
        if data_format is None:
            data_format = {HS_ADMIN: "admin", HS_VLIST: "vlist"}.get(value_type, "string")
        if permissions is None:
            permissions = Permissions()
        return cls(
            index=index,
            type=value_type,
            format=data_format,
            value=normalise_data(value_type, data_format, value, path),
            ttl=ttl,
            timestamp=(timestamp or _now()).astimezone(UTC).replace(microsecond=0),
            references=tuple(references),
            permissions=permissions,
        )

    def to_dict(self) -> dict[str, Any]:
        """The plain-JSON form (Handle.net REST fields plus references and permissions)."""
        return {
            "index": self.index,
            "type": self.type,
            "data": {"format": self.format, "value": self.value},
            "ttl": self.ttl,
            "timestamp": format_timestamp(self.timestamp),
            "references": [str(ref) for ref in self.references],
            "permissions": self.permissions.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object, path: str = "$") -> HandleValue:
        if not isinstance(data, Mapping):
            raise InvalidValue("a handle value must be an object", path)
        allowed = {"index", "type", "data", "ttl", "timestamp", "references", "permissions"}
        extra = set(data) - allowed
        if extra:
            raise InvalidValue(f"unknown fields {sorted(extra)}", path)
        for key in ("index", "type", "data"):
            if key not in data:
                raise InvalidValue(f"missing {key!r}", path)
        body = data["data"]
        if not isinstance(body, Mapping) or set(body) != {"format", "value"}:
            raise InvalidValue("data must be {format, value}", f"{path}.data")
        refs = data.get("references", [])
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise InvalidValue("references must be a list of INDEX:HANDLE", f"{path}.references")
        perms = data.get("permissions", None)
        permissions = None
        if perms is not None:
            if not isinstance(perms, Mapping) or set(perms) != set(Permissions().to_dict()):
                raise InvalidValue(
                    "permissions must have admin_read, admin_write, pub_read, pub_write",
                    f"{path}.permissions",
                )
            if not all(isinstance(flag, bool) for flag in perms.values()):
                raise InvalidValue("permission flags must be booleans", f"{path}.permissions")
            permissions = Permissions(**perms)
        timestamp = None
        if "timestamp" in data:
            timestamp = parse_timestamp(data["timestamp"], f"{path}.timestamp")
        return cls.make(
            data["index"],
            data["type"],
            body["value"],
            data_format=body["format"],
            ttl=data.get("ttl", DEFAULT_TTL),
            timestamp=timestamp,
            references=[AdminIdentity.parse(ref) for ref in refs],
            permissions=permissions,
            path=path,
        )


def type_matches(value_type: str, wanted: str) -> bool:
    """Handle type matching: `URL` also matches sub-types such as `URL.ORIGINAL`."""
    return value_type == wanted or value_type.startswith(wanted + ".")


@dataclass(frozen=True, slots=True)
class HandleRecord:
    """A handle and its values, kept sorted by index; indices are unique."""

    handle: Handle
    values: tuple[HandleValue, ...] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.values, key=lambda v: v.index))
        indices = [v.index for v in ordered]
        if len(set(indices)) != len(indices):
            duplicates = sorted({i for i in indices if indices.count(i) > 1})
            raise InvalidValue(f"duplicate value indices {duplicates} in {self.handle}")
        object.__setattr__(self, "values", ordered)

    def by_index(self, index: int) -> HandleValue | None:
        return next((v for v in self.values if v.index == index), None)

    def by_type(self, *types: str) -> list[HandleValue]:
        """Values whose type is one of `types` (with sub-type matching)."""
        return [v for v in self.values if any(type_matches(v.type, t) for t in types)]

    def first(self, value_type: str) -> HandleValue | None:
        found = self.by_type(value_type)
        return found[0] if found else None

    def next_index(self, value_type: str) -> int:
        """The index Handle.net clients would give a new value of this type."""
        used = {v.index for v in self.values}
        if value_type == URL and 1 not in used:
            return 1
        if value_type == HS_ADMIN:
            candidates: Iterable[int] = range(100, 0x7FFFFFFF)
        else:
            candidates = (i for i in range(2, 0x7FFFFFFF) if not 100 <= i < 200)
        return next(i for i in candidates if i not in used)

    def with_value(self, value: HandleValue) -> HandleRecord:
        """A copy with `value` added, replacing any value at the same index."""
        kept = [v for v in self.values if v.index != value.index]
        return replace(self, values=(*kept, value))

    def add(self, value_type: str, value: object, **options: Any) -> HandleRecord:
        """A copy with a new value at the next free index for its type."""
        index = options.pop("index", None) or self.next_index(value_type)
        if self.by_index(index) is not None:
            raise InvalidValue(f"index {index} is already used in {self.handle}")
        return self.with_value(HandleValue.make(index, value_type, value, **options))

    def without(self, *indices: int) -> HandleRecord:
        missing = [i for i in indices if self.by_index(i) is None]
        if missing:
            raise NotFound(f"no values at indices {missing} in {self.handle}")
        return replace(self, values=tuple(v for v in self.values if v.index not in indices))

    def to_dict(self) -> dict[str, Any]:
        """The versioned plain-JSON form used in ledger payloads."""
        return {
            "v": RECORD_VERSION,
            "handle": str(self.handle),
            "values": [v.to_dict() for v in self.values],
        }

    @classmethod
    def from_dict(cls, data: object) -> HandleRecord:
        if not isinstance(data, Mapping):
            raise InvalidValue("a handle record must be an object", "$")
        if data.get("v") != RECORD_VERSION:
            raise InvalidValue(f"unsupported record version {data.get('v')!r}", "$.v")
        extra = set(data) - {"v", "handle", "values"}
        if extra:
            raise InvalidValue(f"unknown fields {sorted(extra)}", "$")
        if not isinstance(data.get("handle"), str):
            raise InvalidValue("handle must be a string", "$.handle")
        try:
            handle = Handle.parse(data["handle"])
        except InvalidHandle as exc:
            raise InvalidValue(exc.reason, "$.handle") from exc
        values = data.get("values")
        if not isinstance(values, list):
            raise InvalidValue("values must be a list", "$.values")
        parsed = [HandleValue.from_dict(v, f"$.values[{n}]") for n, v in enumerate(values)]
        return cls(handle, tuple(parsed))


def parse_value_assignment(text: str) -> tuple[int | None, str, str, object]:
    """Parse a CLI `[INDEX:]TYPE=VALUE` into (index, type, format, value).

    HS_ADMIN takes `INDEX:PREFIX/SUFFIX[@PERMISSIONS]`, HS_VLIST a comma-separated list of
    `INDEX:PREFIX/SUFFIX`; HS_PUBKEY and HS_SITE take base64. The result still has to go
    through `HandleValue.make` (or `HandleRecord.add`) for full validation.
    """
    head, equals, value = text.partition("=")
    if not equals:
        raise InvalidValue(f"expected [INDEX:]TYPE=VALUE, got {text!r}")
    index: int | None = None
    value_type = head
    first, colon, rest = head.partition(":")
    if colon and first.isascii() and first.isdigit():
        index, value_type = int(first), rest
    _check_type(value_type, "TYPE")
    if value_type == HS_ADMIN:
        return index, value_type, "admin", AdminGrant.parse(value).to_data()
    if value_type == HS_VLIST:
        members = [AdminIdentity.parse(part.strip()) for part in value.split(",") if part.strip()]
        data = [{"handle": str(m.handle), "index": m.index} for m in members]
        return index, value_type, "vlist", data
    if value_type in (HS_PUBKEY, HS_SITE):
        return index, value_type, "base64", value
    return index, value_type, "string", value


def follow_aliases(
    handle: Handle,
    lookup: Callable[[Handle], HandleRecord | None],
    max_hops: int = MAX_ALIAS_HOPS,
) -> HandleRecord | None:
    """Resolve `handle`, following HS_ALIAS values to the record they point at.

    Returns None when `handle` itself does not exist. Raises NotFound when an alias points at a
    missing handle and AliasLoop on a cycle or after more than `max_hops` aliases.
    """
    record = lookup(handle)
    if record is None:
        return None
    seen = [handle]
    while (alias := record.first(HS_ALIAS)) is not None:
        target = Handle.parse(alias.value)
        if target in seen:
            chain = " -> ".join(str(h) for h in [*seen, target])
            raise AliasLoop(f"HS_ALIAS cycle: {chain}")
        if len(seen) > max_hops:
            raise AliasLoop(f"more than {max_hops} HS_ALIAS hops from {handle}")
        seen.append(target)
        found = lookup(target)
        if found is None:
            raise NotFound(f"HS_ALIAS of {record.handle} points at missing handle {target}")
        record = found
    return record
