"""Data files the identifiers package reads at run time (see README.txt)."""
