"""Exporters: how collected samples and findings leave the agent.

``prometheus`` (the /metrics exposition), ``http`` (the web server behind ``serve``),
``textfile`` (node_exporter's textfile collector), ``tables`` (what people read in a terminal).
"""
