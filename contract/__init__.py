"""lro-conformance: a property-based conformance gate for long-running HTTP operations."""

__version__ = "0.1.0"
