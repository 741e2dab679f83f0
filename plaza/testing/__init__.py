"""Test support shipped with Plaza, for its own suite and for brands testing their bots."""
