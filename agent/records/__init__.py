"""L4 work records: the store, the breach -> record engine, rendering, and delivery to sinks."""
