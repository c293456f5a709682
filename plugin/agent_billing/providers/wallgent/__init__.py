"""Wallgent: the billing API of wallgent.com (declarations, wire conventions and sandbox routes)."""
