"""The archive's database: the schema (models), engines, the writer lock and batch inserts
(db), and text made storable. Imports the text layer, the sources and the base modules
(config, errors, wording), never linking, the commands or the API."""
