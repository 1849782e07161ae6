"""Bringing BC data into the local database."""
