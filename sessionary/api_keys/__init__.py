"""API keys: service accounts acting with their scopes ∩ their owner's permissions."""
