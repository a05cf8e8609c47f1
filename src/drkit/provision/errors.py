"""A spec the program cannot build, said in words: which key, and how to fix it."""

from __future__ import annotations


class ProvisionError(Exception):
    """The spec passed `drkit validate` but cannot be built as written (an AWS fact the schema cannot know)."""
