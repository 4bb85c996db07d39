"""ODRL 2.2 usage policies: model, validation and evaluation against an access request."""
