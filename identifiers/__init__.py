"""Handle-style identifiers, their records and resolution, and the GS1 codes that map to them."""
