"""The rag service."""
