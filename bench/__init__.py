"""Benchmarks and the synthetic data generator (not tests, not part of the product)."""
