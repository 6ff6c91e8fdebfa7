"""Evidence handed to the auditor: the bundle written at close, its verifier, the registry."""
