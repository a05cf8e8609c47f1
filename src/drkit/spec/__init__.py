"""The DR spec: reading stack files, checking them against the schema, and the typed model."""
