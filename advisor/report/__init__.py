"""Reporting: the Rich summary, finding tables and JSON output (no TensorFlow)."""
