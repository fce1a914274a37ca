"""Diagnostics: the checks ``l4agent diagnose`` runs, one module per check.

Families live in sub-packages named like their ids: ``perf/``, ``schema/``, ``backup/``,
``capacity/``, ``security/``, ``app/``. A check's module holds its SQL per engine, its options
and its logic; its test is ``tests/diagnostics/test_<family>_<name>.py``.
``base`` defines Check and Finding, ``registry`` lists the checks, ``runner`` runs them.
"""
