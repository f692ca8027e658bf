"""Alert sources: parsers (and, with the API milestone, signature verification) per integration."""
