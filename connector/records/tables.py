"""The node tables of records: stored records, PACT clients, share allow-list, BOMs, requests."""

from __future__ import annotations

from sqlmodel import BigInteger, Column, Field, SQLModel, Text


class RecordRow(SQLModel, table=True):
    """One signed record (a footprint or a quality record) issued by or received at this node."""

    __tablename__ = "record"
    id: str = Field(primary_key=True)
    kind: str = Field(index=True)  # pact.footprint | quality.record
    direction: str = Field(index=True)  # issued | received
    record_type: str  # ProductFootprint, InspectionResult, ...
    issuer: str = Field(index=True)  # DID of the signer
    received_from: str = ""  # DID of the peer it came from (received records)
    digest: str  # SHA-256 hex of the RFC 8785 bytes of the signed document
    ledger_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = 1  # position in its chain of precedingPfIds on this node
    status: str = "Active"  # PACT status as served now (Deprecated once superseded)
    superseded_by: str = ""
    subjects: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    product_ids: str = Field(sa_column=Column(Text, nullable=False))  # JSON list, lower-case
    document: str = Field(sa_column=Column(Text, nullable=False))  # the signed JSON
    stored: str


class PactClientRow(SQLModel, table=True):
    """An OAuth2 client of the PACT API, registered by the operator; the secret is hashed."""

    __tablename__ = "pact_client"
    client_id: str = Field(primary_key=True)
    name: str
    secret_sha256: str
    partner: str = ""  # DID the client speaks for, if any (used by the share allow-list)
    sources: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of event sources
    callback_url: str = ""  # where RequestFulfilled/Rejected events go back to
    created: str


class ShareGrant(SQLModel, table=True):
    """Allow-list: `partner` (a DID or `pact-client:ID`) may receive records of `kind`."""

    __tablename__ = "record_share"
    partner: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    added: str


class BomRow(SQLModel, table=True):
    """A product's bill of materials as the operator defined it (JSON, format v1)."""

    __tablename__ = "record_bom"
    key: str = Field(primary_key=True)
    definition: str = Field(sa_column=Column(Text, nullable=False))
    current_footprint: str = ""  # id of the latest footprint issued from it
    updated: str


class PactRequestRow(SQLModel, table=True):
    """A PACT RequestCreatedEvent, sent by us or received, and how it ended."""

    __tablename__ = "pact_request"
    event_id: str = Field(primary_key=True)
    direction: str = Field(primary_key=True)  # sent | received
    counterpart: str  # client id or peer DID
    status: str  # pending | fulfilled | rejected
    criteria: str = Field(sa_column=Column(Text, nullable=False))
    updated: str


record_table = RecordRow.__table__
client_table = PactClientRow.__table__
share_table = ShareGrant.__table__
bom_table = BomRow.__table__
request_table = PactRequestRow.__table__
