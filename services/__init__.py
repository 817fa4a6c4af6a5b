"""The Nameko services: auth, agent and rag, and what they share (``common``)."""
