"""Benchmarks: each reports ratios to a raw baseline measured in the same run."""
