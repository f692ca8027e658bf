"""Knowledge core: ingestion of runbooks and logs, the vector store, hybrid search."""
