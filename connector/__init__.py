"""The tracespace node: HTTP API, peer protocol, CLI and web pages wiring the libraries together."""
