"""caching: the caches the ERP's SQL floods or starves (plan cache, planning time, server caches)."""
