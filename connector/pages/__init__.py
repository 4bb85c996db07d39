"""The consumer provenance page: what a shopper sees when scanning an item's QR code."""
