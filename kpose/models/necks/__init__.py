"""Necks: tuple of feature maps -> tuple of feature maps, between backbone and head."""
