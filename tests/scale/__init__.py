"""Tests of the scale tooling: the synthetic data generator."""
