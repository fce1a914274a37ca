"""Backup checks (``backup.*``): history in msdb, WAL archiving, and the backup_dirs folders."""
