"""What a run of the advisor produced, as plain data: no Rich, no Keras, no rendering.

Everything above (fixes, training, the report's formats) imports from here, never the reverse.
"""
