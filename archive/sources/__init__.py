"""Paths to parsed records (walk, open, decode, formats); imports no linking, storage, commands."""
