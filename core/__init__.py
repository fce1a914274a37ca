"""The shared core at the bottom of the layers: the config model and reader, durations,
redaction, the sample model, units and time formatting, the history store, TLS client
contexts. It imports nothing else of the project."""
