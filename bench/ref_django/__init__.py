"""The HTTP reference: a plain Django JSON view, served like chatsite (same settings, Daphne)."""
