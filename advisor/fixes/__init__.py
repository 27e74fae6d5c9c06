"""Fixes and retraining: the fix catalogue, candidate selection, comparison and the decision."""
