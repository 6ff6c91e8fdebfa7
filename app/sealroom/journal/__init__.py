"""The tamper-evident ceremony journal: canonical entries, hash chain, store, verification."""
