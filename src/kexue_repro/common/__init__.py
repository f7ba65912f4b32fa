"""Machinery every study shares: atomic writers, the claims ledger, plotting style."""
