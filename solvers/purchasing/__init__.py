"""Purchasing stage: collective buying of materials with volume-discount tiers."""
