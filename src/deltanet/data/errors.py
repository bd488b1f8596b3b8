"""The error raised for a data file or table that cannot be used as it is."""

from __future__ import annotations


class DataError(ValueError):
    """A problem with the user's data: the message is one line saying what is wrong and
    how to fix it, ready for the command line to print as it is."""
