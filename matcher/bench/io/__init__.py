"""Importers for public benchmark formats, mapped onto the domain model."""
