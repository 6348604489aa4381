"""The conformance suite that `pytest` (in a checkout) and `lro-conformance` run."""
