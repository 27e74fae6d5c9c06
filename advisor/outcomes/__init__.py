"""Outcomes: plain data of a run's results, below fixes, training and report."""
