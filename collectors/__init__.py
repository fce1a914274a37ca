"""Collectors: each one reads one layer (OS, network, a database, an app server) into samples.

``collectors.base`` defines the model, ``collectors.runner`` runs them with timeouts and
``collectors.registry`` builds the configured set from the config file.
"""
