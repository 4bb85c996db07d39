"""Node configuration: one `tracespace.toml` in the node folder, overridden by environment.

Environment variables win over the file: `TRACESPACE_DATABASE_URL`, `TRACESPACE_PUBLIC_URL`,
`TRACESPACE_PORT`. The node folder is `--dir`, else `$TRACESPACE_HOME`, else `.`.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomli_w

CONFIG_FILE = "tracespace.toml"
KEY_FILE = "node.key"
TOKEN_FILE = "operator.token"
DATABASE_FILE = "ledger.db"
CONFIG_VERSION = 1
ROLES = ("enterprise", "secondary", "national", "root")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ConfigError(Exception):
    """The node folder or its configuration is missing or invalid."""


def node_dir(value: str | os.PathLike[str] | None) -> Path:
    return Path(value or os.environ.get("TRACESPACE_HOME") or ".").resolve()


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(
            f"node name {name!r} must be 1-63 characters of a-z, 0-9 and '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass
class NodeConfig:
    """What `tracespace.toml` holds (format version 1)."""

    name: str
    prefixes: list[str] = field(default_factory=list)
    gs1_company_prefixes: list[str] = field(default_factory=list)
    role: str = "enterprise"
    origin: str = ""
    public_url: str = ""
    port: int = 8080
    database_url: str = ""
    parent_url: str = ""
    v: int = CONFIG_VERSION
    folder: Path = field(default=Path("."), repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.role not in ROLES:
            raise ConfigError(f"role {self.role!r} must be one of {', '.join(ROLES)}")
        self.origin = self.origin or f"tracespace.local/{self.name}"
        self.public_url = (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def key_path(self) -> Path:
        return self.folder / KEY_FILE

    @property
    def token_path(self) -> Path:
        return self.folder / TOKEN_FILE

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.folder / DATABASE_FILE}"

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "folder" and v != ""}
        (self.folder / CONFIG_FILE).write_text(tomli_w.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> NodeConfig:
        path = folder / CONFIG_FILE
        if not path.is_file():
            raise ConfigError(
                f"{folder} is not a node folder (no {CONFIG_FILE}); run 'tracespace init'"
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if data.get("v") != CONFIG_VERSION:
            raise ConfigError(f"{path}: unsupported config version {data.get('v')!r}")
        env = os.environ
        if env.get("TRACESPACE_DATABASE_URL"):
            data["database_url"] = env["TRACESPACE_DATABASE_URL"]
        if env.get("TRACESPACE_PUBLIC_URL"):
            data["public_url"] = env["TRACESPACE_PUBLIC_URL"]
        if env.get("TRACESPACE_PORT"):
            data["port"] = int(env["TRACESPACE_PORT"])
        known = {f for f in cls.__dataclass_fields__ if f != "folder"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}")
        try:
            return cls(folder=folder, **data)
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
