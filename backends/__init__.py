"""Storage backends for metricscore: each implements :mod:`metricscore.repository`."""
