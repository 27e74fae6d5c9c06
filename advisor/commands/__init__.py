"""The ``advisor`` subcommands: ``check`` (saved histories, no TensorFlow) and ``diagnose``."""
