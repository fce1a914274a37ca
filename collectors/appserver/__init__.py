"""The app-server collector: the ERP's web tier (Lucee/Tomcat, ColdFusion, IIS, any HTTP app).

``http_probe`` (URL probe and certificate), ``process_group`` (the server's processes),
``tomcat`` and ``json_status`` (status pages), ``app_history`` (recent results for the ``app.*``
diagnostics), ``collector`` (one Collector per ``[[appservers]]`` entry).
"""

from l4agent.collectors.appserver.collector import from_config

__all__ = ["from_config"]
