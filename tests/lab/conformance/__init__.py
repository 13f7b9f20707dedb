"""Helpers of the conformance lab test (tests/lab/test_conformance.py)."""
