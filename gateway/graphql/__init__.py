"""The GraphQL API: one folder a domain, composed in ``schema.py``."""
