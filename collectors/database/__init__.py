"""The database layer: connections through pyodbc (``connection``), one module of named SQL per
engine (``mssql``, ``postgresql``, ``mysql``), and the database collector (``collector``).
"""

from l4agent.collectors.database.collector import from_config  # noqa: F401 - the registry's entry point
