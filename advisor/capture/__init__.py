"""Capture: a user's ``fit`` call, its data as arrays, and the training plan built from it."""
