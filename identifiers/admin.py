"""HS_ADMIN values and the permission check that decides who may change a handle record.

An HS_ADMIN value names an administrator as `index:handle` (the value at that index of that
handle holds the administrator's key, or is an HS_VLIST group of further administrators) and
grants it a set of the twelve Handle System admin permissions.

In the Handle.net REST JSON the permissions are a 12-character string of "0"/"1", written most
significant bit first over the protocol's bit mask (RFC 3651 §3.2.2 names the bits; the mask
values are those of the Handle.net reference implementation), so the last character is
ADD_HANDLE and the first is LIST_HANDLES. For example "011111110011" grants everything except
LIST_HANDLES, ADD_NA and DELETE_NA.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntFlag
from typing import TYPE_CHECKING, Any

from identifiers.errors import IdentifierError, InvalidHandle, InvalidValue, NotAllowed
from identifiers.handle import Handle, parse_handle_reference

if TYPE_CHECKING:
    from identifiers.record import HandleRecord, HandleValue

HS_ADMIN = "HS_ADMIN"
HS_VLIST = "HS_VLIST"
MAX_GROUP_DEPTH = 8


class AdminPermission(IntFlag):
    """The Handle System admin permission bits."""

    ADD_HANDLE = 0x0001
    DELETE_HANDLE = 0x0002
    ADD_NA = 0x0004
    DELETE_NA = 0x0008
    MODIFY_VALUE = 0x0010
    REMOVE_VALUE = 0x0020
    ADD_VALUE = 0x0040
    MODIFY_ADMIN = 0x0080
    REMOVE_ADMIN = 0x0100
    ADD_ADMIN = 0x0200
    READ_VALUE = 0x0400
    LIST_HANDLES = 0x0800


ALL_PERMISSIONS = AdminPermission(0x0FFF)
# The usual grant for a handle's own administrator: all but prefix (NA) operations and listing.
DEFAULT_PERMISSIONS = ALL_PERMISSIONS & ~(
    AdminPermission.ADD_NA | AdminPermission.DELETE_NA | AdminPermission.LIST_HANDLES
)


def permissions_to_string(permissions: AdminPermission) -> str:
    """Render as the 12-character REST string, most significant bit first."""
    return format(int(permissions) & 0x0FFF, "012b")


def permissions_from_string(text: str) -> AdminPermission:
    """Parse the 12-character REST string; a shorter string is padded with "0" on the right
    (as Handle.net clients do when fewer than twelve bits are given)."""
    if not isinstance(text, str) or not text or len(text) > 12 or set(text) - {"0", "1"}:
        raise InvalidValue(f"admin permissions must be 1 to 12 characters of '0'/'1', got {text!r}")
    return AdminPermission(int(text.ljust(12, "0"), 2))


@dataclass(frozen=True, slots=True)
class AdminIdentity:
    """An administrator: the value `index` of handle `handle` (written `index:prefix/suffix`)."""

    index: int
    handle: Handle

    @classmethod
    def parse(cls, text: str) -> AdminIdentity:
        index_text, colon, handle_text = text.partition(":")
        if not colon or not index_text.isdigit() or not index_text.isascii():
            raise InvalidValue(f"an administrator is written INDEX:PREFIX/SUFFIX, got {text!r}")
        try:
            handle = parse_handle_reference(handle_text)
        except InvalidHandle as exc:
            raise InvalidValue(f"administrator handle: {exc.reason}") from exc
        return cls(_check_index(int(index_text)), handle)

    def __str__(self) -> str:
        return f"{self.index}:{self.handle}"


@dataclass(frozen=True, slots=True)
class AdminGrant:
    """The content of one HS_ADMIN value: an administrator and what it may do."""

    admin: AdminIdentity
    permissions: AdminPermission = DEFAULT_PERMISSIONS

    def to_data(self) -> dict[str, Any]:
        """The REST `data.value` object of an HS_ADMIN value."""
        return {
            "handle": str(self.admin.handle),
            "index": self.admin.index,
            "permissions": permissions_to_string(self.permissions),
        }

    @classmethod
    def from_data(cls, value: object, path: str = "$") -> AdminGrant:
        if not isinstance(value, Mapping):
            raise InvalidValue("HS_ADMIN data must be an object {handle, index, permissions}", path)
        extra = set(value) - {"handle", "index", "permissions"}
        if extra:
            raise InvalidValue(f"unknown HS_ADMIN fields {sorted(extra)}", path)
        for key in ("handle", "index", "permissions"):
            if key not in value:
                raise InvalidValue(f"HS_ADMIN data lacks {key!r}", path)
        index = value["index"]
        # Handle.net clients send the index as a string at times; accept digits only.
        if isinstance(index, str) and index.isascii() and index.isdigit():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool):
            raise InvalidValue("HS_ADMIN index must be an integer", f"{path}.index")
        if not isinstance(value["handle"], str):
            raise InvalidValue("HS_ADMIN handle must be a string", f"{path}.handle")
        try:
            handle = parse_handle_reference(value["handle"])
            admin = AdminIdentity(_check_index(index), handle)
            permissions = permissions_from_string(value["permissions"])
        except InvalidHandle as exc:
            raise InvalidValue(f"HS_ADMIN handle: {exc.reason}", f"{path}.handle") from exc
        except InvalidValue as exc:
            raise InvalidValue(exc.reason, path) from exc
        return cls(admin, permissions)

    @classmethod
    def parse(cls, text: str) -> AdminGrant:
        """Parse the CLI form `INDEX:PREFIX/SUFFIX[@PERMISSIONS]` (default permissions if
        `@PERMISSIONS` is omitted); the handle part must not contain '@'."""
        head, at, perms = text.rpartition("@")
        if not at:
            return cls(AdminIdentity.parse(text))
        return cls(AdminIdentity.parse(head), permissions_from_string(perms))


def _check_index(index: int) -> int:
    if not 1 <= index <= 0x7FFFFFFF:
        raise InvalidValue(f"index {index} is outside 1..2147483647")
    return index


def grants(record: HandleRecord) -> list[AdminGrant]:
    """Every HS_ADMIN grant in a record."""
    return [AdminGrant.from_data(v.value) for v in record.values if v.type == HS_ADMIN]


def _is_member(
    actor: AdminIdentity,
    admin: AdminIdentity,
    lookup: Callable[[Handle], HandleRecord | None] | None,
    seen: set[AdminIdentity],
    depth: int,
) -> bool:
    if admin == actor:
        return True
    if lookup is None or depth >= MAX_GROUP_DEPTH or admin in seen:
        return False
    seen.add(admin)
    group_record = lookup(admin.handle)
    if group_record is None:
        return False
    group = group_record.by_index(admin.index)
    if group is None or group.type != HS_VLIST:
        return False
    return any(
        _is_member(actor, member, lookup, seen, depth + 1) for member in vlist_members(group)
    )


def vlist_members(value: HandleValue) -> list[AdminIdentity]:
    """The `index:handle` members of an HS_VLIST value."""
    return [
        AdminIdentity(_check_index(int(item["index"])), Handle.parse(item["handle"]))
        for item in value.value
    ]


def is_authorised(
    record: HandleRecord,
    actor: AdminIdentity,
    needed: AdminPermission,
    lookup: Callable[[Handle], HandleRecord | None] | None = None,
) -> bool:
    """True when one HS_ADMIN value of `record` grants `actor` every permission in `needed`.

    The grant's administrator matches when it is `actor` itself or, given `lookup`, an HS_VLIST
    group (followed recursively, at most MAX_GROUP_DEPTH deep, cycles ignored) containing it.
    """
    for grant in grants(record):
        if needed & ~grant.permissions:
            continue
        if _is_member(actor, grant.admin, lookup, set(), 0):
            return True
    return False


def required_permissions(
    before: HandleRecord | None, after: HandleRecord | None
) -> AdminPermission:
    """The permissions a change from `before` to `after` needs (None = record absent).

    Creating needs ADD_HANDLE, deleting needs DELETE_HANDLE; otherwise each added, changed or
    removed value needs ADD/MODIFY/REMOVE_VALUE, or ADD/MODIFY/REMOVE_ADMIN for HS_ADMIN values.
    """
    if before is None and after is None:
        return AdminPermission(0)
    if before is None:
        return AdminPermission.ADD_HANDLE
    if after is None:
        return AdminPermission.DELETE_HANDLE
    needed = AdminPermission(0)
    old = {v.index: v for v in before.values}
    new = {v.index: v for v in after.values}
    for index in old.keys() | new.keys():
        was, now = old.get(index), new.get(index)
        is_admin = HS_ADMIN in {v.type for v in (was, now) if v is not None}
        if was is None:
            needed |= AdminPermission.ADD_ADMIN if is_admin else AdminPermission.ADD_VALUE
        elif now is None:
            needed |= AdminPermission.REMOVE_ADMIN if is_admin else AdminPermission.REMOVE_VALUE
        elif was != now:
            needed |= AdminPermission.MODIFY_ADMIN if is_admin else AdminPermission.MODIFY_VALUE
    return needed


def authorise_change(
    before: HandleRecord | None,
    after: HandleRecord | None,
    actor: AdminIdentity,
    *,
    prefix_record: HandleRecord | None = None,
    lookup: Callable[[Handle], HandleRecord | None] | None = None,
) -> None:
    """Raise NotAllowed unless `actor` may turn `before` into `after`.

    Value changes and deletion are checked against the HS_ADMIN values of `before`; creation
    is checked against `prefix_record`, the `0.na/<prefix>` record homing the prefix.
    """
    needed = required_permissions(before, after)
    if not needed:
        return
    if before is None:
        assert after is not None
        if prefix_record is None:
            raise NotAllowed(f"no prefix record for {after.handle.prefix!r} to authorise creation")
        governing = prefix_record
    else:
        governing = before
    try:
        allowed = is_authorised(governing, actor, needed, lookup)
    except (IdentifierError, KeyError, TypeError, ValueError) as exc:
        raise NotAllowed(f"cannot evaluate HS_ADMIN values of {governing.handle}: {exc}") from exc
    if not allowed:
        names = "|".join(p.name or "" for p in AdminPermission if p & needed)
        raise NotAllowed(f"{actor} lacks {names} on {governing.handle}")
