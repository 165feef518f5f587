"""What each command does, as library functions over an engine: ingest, relink, remove,
export, diff, the queries (stories, show, stats) and search. Imports linking, storage, the
sources, the text layer and the base modules (config, errors, wording); never the API or the
command line, which call these."""
