"""Use cases of Sertel; the only layer that commits."""
