"""A node on disk: create its folder (`init_node`) and open it (`Node.open`)."""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey
from sqlalchemy import Engine

from connector.config import DATABASE_FILE, ConfigError, NodeConfig
from ledger import keys
from ledger.log import Ledger


@dataclass
class Node:
    config: NodeConfig
    ledger: Ledger
    operator_token: str

    @classmethod
    def open(cls, folder: Path) -> Node:
        import connector.tables  # noqa: F401  (registers every table before create_all)

        config = NodeConfig.load(folder)
        key = keys.load_signing_key(config.key_path)
        token = _read_secret(config.token_path)
        ledger = Ledger.open(config.database, key, config.origin)
        return cls(config, ledger, token)

    @property
    def signing_key(self) -> SigningKey:
        """The key the ledger signs with now (it changes on rotation)."""
        return self.ledger.signer

    @property
    def public_key(self) -> bytes:
        return bytes(self.ledger.signer.verify_key)

    @property
    def engine(self) -> Engine:
        return self.ledger.engine

    @property
    def vkey(self) -> str:
        return self.ledger.vkey()

    def is_operator(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.operator_token.encode())

    def close(self) -> None:
        self.ledger.engine.dispose()


def init_node(
    folder: Path,
    name: str,
    prefixes: list[str],
    *,
    gs1_company_prefixes: list[str] | None = None,
    role: str = "enterprise",
    port: int = 8080,
    database_url: str = "",
    parent_url: str = "",
    public_url: str = "",
) -> Node:
    """Create a node folder: config, Ed25519 key and operator token (both 0600), ledger."""
    folder.mkdir(parents=True, exist_ok=True)
    config = NodeConfig(
        name=name,
        prefixes=prefixes,
        gs1_company_prefixes=gs1_company_prefixes or [],
        role=role,
        port=port,
        database_url=database_url,
        parent_url=parent_url,
        public_url=public_url,
        folder=folder,
    )
    if (folder / "tracespace.toml").exists() or config.key_path.exists():
        raise ConfigError(f"{folder} already holds a node; refusing to overwrite its key")
    keys.save_signing_key(config.key_path, keys.generate())
    _write_secret(config.token_path, secrets.token_urlsafe(32))
    if not database_url:
        # The ledger holds business data: owner-only, like the key (SQLite's -wal and -shm
        # files inherit the database file's mode).
        os.close(os.open(folder / DATABASE_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    config.save()
    return Node.open(folder)


def _write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")


def _read_secret(path: Path) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing") from None
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600)")
    if len(value) < 16:
        raise ConfigError(f"{path} holds no usable token")
    return value
