"""In-process inference engines (each one an optional extra, imported only when used)."""
