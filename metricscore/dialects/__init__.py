"""One package per vendor: resources, list parameters, envelopes and error bodies."""
