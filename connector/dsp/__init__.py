"""Dataspace Protocol 2025-1 for the node: catalog, negotiation, transfer, agreements, data plane.

Modules: `state` (the two DSP state machines), `messages` (DSP message builders), `tables`
and `records` (rows and their ledger entries), `definitions` (assets, policies, contract
definitions, partner attributes), `offers` (offers and catalog visibility), `catalog`,
`negotiation`, `transfer`, `agreements` (signatures and proofs), `contracts` (agreements in
force: revocation, duties, pulls, proofs), `dataplane` (enforcement on every access),
`duties`, `assets` and `providers` (the AssetProvider seam), `service` and `settings` (the
outbox worker with retry and backoff), `loopback` (node processes for tests and benchmarks)
and `errors`.
"""
