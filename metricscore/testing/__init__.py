"""Tools for testing code built on metricscore: Hypothesis strategies and the backend contract suite."""
