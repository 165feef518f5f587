"""Linking: which stored versions a new one is a version of, and the stories they make.
candidates (index lookup, cut-offs, the writer's recheck), match (fingerprints, index keys,
verification), method (the link methods), store (the decisions as rows: stories, canonical
version, merges). Imports storage, the sources, the text layer and the base modules (config,
errors, wording), never the commands or the API."""
