"""Normalization checks (``schema.*``): one module per check; all share the catalog read in
``catalog.py`` (five set-based statements per catalog, analysed in Python)."""
