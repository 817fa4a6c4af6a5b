"""The agent domain of the GraphQL API: runs, their event streams, conversations."""
