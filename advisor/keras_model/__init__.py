"""Read-only facts about a user's Keras model, below both capture and training."""
