"""Providers: one sub-package per billing API, each exposing a Registry."""
