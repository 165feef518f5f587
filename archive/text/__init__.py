"""Text as the linking sees it: words, sentences, word rarity, languages, SimHash and the
comparison profiles of two bodies. Imports nothing of the archive but its own modules and the
base modules (config, errors, wording): the sources import it (textdump's word rules)."""
