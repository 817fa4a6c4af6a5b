"""Accounts, tokens, sessions, API keys, users and the audit log."""
