"""Capacity checks (``capacity.*``): days until filesystems and databases are full."""
