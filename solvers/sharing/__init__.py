"""Capacity sharing: marginal value of capacity, transfers, backups, recommendations."""
