"""One FastAPI router per domain, each a thin adapter over the library doing the work."""
