"""Channels behind one interface, message rendering, SMS reply parsing. Knows nothing of the database."""
