"""Paths to parsed records (walk, open, decode, one module per format, one table of formats).
Imports the text layer and the base modules (config, errors, wording) only, never storage,
linking, the commands or the API."""
