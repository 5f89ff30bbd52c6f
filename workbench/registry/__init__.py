"""Model registry and decisions: versions, aliases with history, gates, proposals, roles."""
