"""Signed carbon footprints and quality records on the node: store, sign, roll up, exchange."""
