"""The application layer: the CLI and its commands, the daemon and its services, thresholds,
work records, the SSH remote runner and report assembly. It drives everything below it."""
