"""Record schemas, bundled JSON-LD contexts and record models (EPCIS, PACT, Catena-X, DSP)."""
