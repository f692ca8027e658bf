"""The agent: evidence pipeline (offline triage), diagnosis schema, and (later) the LLM loop."""
