"""The node's DSP rows: assets, policies, contract definitions, processes, agreements, logs.

JSON values are stored as canonical text. Every write to these tables happens in the same
database transaction as the ledger entry that records it (`connector.dsp.records`).
"""

from __future__ import annotations

from sqlmodel import BigInteger, Column, Field, SQLModel, Text


class DspAsset(SQLModel, table=True):
    """Data the node offers: a provider `kind` and the `source` it needs (JSON)."""

    __tablename__ = "dsp_asset"
    id: str = Field(primary_key=True)
    kind: str
    title: str = ""
    description: str = ""
    source: str = Field(sa_column=Column(Text, nullable=False))
    classification: str | None = None
    created: str


class DspPolicy(SQLModel, table=True):
    """A validated ODRL policy (JSON) the operator defined."""

    __tablename__ = "dsp_policy"
    id: str = Field(primary_key=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created: str


class DspContractDefinition(SQLModel, table=True):
    """Offers `policy_id` for `assets` (JSON list, empty = every asset); auto or manual."""

    __tablename__ = "dsp_contract_definition"
    id: str = Field(primary_key=True)
    policy_id: str
    assets: str = Field(sa_column=Column(Text, nullable=False))
    approval: str = "auto"
    created: str


class DspPartner(SQLModel, table=True):
    """What the operator vouches for about a trusted participant: roles and credentials."""

    __tablename__ = "dsp_partner"
    did: str = Field(primary_key=True)
    roles: str = Field(sa_column=Column(Text, nullable=False))
    credentials: str = Field(sa_column=Column(Text, nullable=False))
    updated: str


class DspNegotiation(SQLModel, table=True):
    """One contract negotiation, on the provider or the consumer side."""

    __tablename__ = "dsp_negotiation"
    id: str = Field(primary_key=True)
    role: str
    provider_pid: str | None = Field(default=None, index=True)
    consumer_pid: str | None = Field(default=None, index=True)
    peer_did: str = Field(index=True)
    peer_address: str
    state: str
    asset_id: str
    offer: str = Field(sa_column=Column(Text, nullable=False))
    definition_id: str | None = None
    pending: str | None = None
    agreement_id: str | None = None
    reason: str | None = None
    history: str = Field(sa_column=Column(Text, nullable=False))
    created: str
    updated: str


class DspAgreement(SQLModel, table=True):
    """An agreement both parties signed; `revoked` ends it in the data plane at once."""

    __tablename__ = "dsp_agreement"
    id: str = Field(primary_key=True)
    negotiation_id: str
    role: str
    provider_did: str
    consumer_did: str
    asset_id: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    provider_signature: str = Field(sa_column=Column(Text, nullable=False))
    consumer_signature: str | None = Field(default=None, sa_column=Column(Text))
    ledger_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    state: str = "pending"
    reason: str | None = None
    created: str
    updated: str


class DspTransfer(SQLModel, table=True):
    """One transfer process, on either side; the provider keeps the data-plane token hash."""

    __tablename__ = "dsp_transfer"
    id: str = Field(primary_key=True)
    role: str
    provider_pid: str | None = Field(default=None, index=True)
    consumer_pid: str | None = Field(default=None, index=True)
    agreement_id: str = Field(index=True)
    peer_did: str
    peer_address: str
    state: str
    format: str = "HttpData-PULL"
    token_hash: str | None = Field(default=None, index=True)
    token_expires: int | None = Field(default=None, sa_column=Column(BigInteger))
    data_address: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = None
    history: str = Field(sa_column=Column(Text, nullable=False))
    created: str
    updated: str


class DspAccess(SQLModel, table=True):
    """One data-plane access attempt and the policy decision on it."""

    __tablename__ = "dsp_access"
    id: int | None = Field(default=None, primary_key=True)
    agreement_id: str = Field(index=True)
    transfer_id: str
    at: str
    permitted: bool
    purpose: str | None = None
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    ledger_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class DspDuty(SQLModel, table=True):
    """A duty of an agreement: `pending`, `fulfilled` or (computed when read) `overdue`."""

    __tablename__ = "dsp_duty"
    id: str = Field(primary_key=True)
    agreement_id: str = Field(index=True)
    role: str
    action: str
    due: str | None = None
    status: str = "pending"
    body: str = Field(sa_column=Column(Text, nullable=False))
    fulfilled: str | None = None
    notes: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class DspOutbox(SQLModel, table=True):
    """A message to a peer, delivered with retries and exponential backoff."""

    __tablename__ = "dsp_outbox"
    id: str = Field(primary_key=True)
    peer_did: str
    url: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    process: str
    process_id: str
    purpose: str
    attempts: int = 0
    next_at: float = 0.0
    last_error: str | None = None
    created: str


asset_table = DspAsset.__table__
policy_table = DspPolicy.__table__
definition_table = DspContractDefinition.__table__
partner_table = DspPartner.__table__
negotiation_table = DspNegotiation.__table__
agreement_table = DspAgreement.__table__
transfer_table = DspTransfer.__table__
access_table = DspAccess.__table__
duty_table = DspDuty.__table__
outbox_table = DspOutbox.__table__
