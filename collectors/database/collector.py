"""The database collector (being built for issue 3)."""


def from_config(config):
    return []
