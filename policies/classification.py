"""Data classification levels (数据分类分级) as an ordered scale for `ts:classificationLevel`.

The scale has four levels, lowest to highest sensitivity:

====  ==========  =========  ==========================================
level Chinese     English    meaning
====  ==========  =========  ==========================================
1     公开        public     may be published
2     一般        general    一般数据, general data
3     重要        important  重要数据, important data
4     核心        core       核心数据, core data
====  ==========  =========  ==========================================

Levels 2 to 4 are the three statutory classes of the Data Security Law of the PRC
(一般数据 < 重要数据 < 核心数据, as graded by GB/T 43697-2024); level 1 is this profile's
addition below them for data that is cleared for publication. A level is written as the
integer, its decimal string, its Chinese name (with or without the 数据 suffix), its
English name (any case), or the English name in the `ts:` namespace (`ts:important`).
Comparison operators compare levels by number, so `lteq 2` admits public and general data.
"""

from __future__ import annotations

from policies.vocabulary import TS

LEVEL_NAMES: dict[int, tuple[str, str]] = {
    1: ("公开", "public"),
    2: ("一般", "general"),
    3: ("重要", "important"),
    4: ("核心", "core"),
}

_BY_NAME: dict[str, int] = {}
for _level, (_chinese, _english) in LEVEL_NAMES.items():
    for _alias in (
        str(_level),
        _chinese,
        _chinese + "数据",
        _english,
        "ts:" + _english,
        TS + _english,
    ):
        _BY_NAME[_alias] = _level


def parse_level(value: object) -> int:
    """The level number (1-4) of a classification written in any accepted form."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a classification level")
    if isinstance(value, int):
        if value in LEVEL_NAMES:
            return value
        raise ValueError(f"classification level {value} is outside 1-4")
    if isinstance(value, str):
        level = _BY_NAME.get(value.strip()) or _BY_NAME.get(value.strip().lower())
        if level is not None:
            return level
    raise ValueError(
        f"unknown classification level {value!r}: use 1-4, 公开/一般/重要/核心 "
        "or public/general/important/core"
    )
