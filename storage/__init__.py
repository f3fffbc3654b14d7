"""Gavel's storage layer: tables, engines and sessions, secret encryption, and the repository functions."""
