"""Assembles every study's claims ledger into results/claims.csv and results/report.md."""
