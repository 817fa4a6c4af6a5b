"""GraphQL API of the rag domain: documents, collections, ingestion jobs, search and answers."""
