"""Health reports as documents: the report model, its three renderings and the comparison with
earlier reports. The application fills in the inputs (:mod:`l4agent.agent.reporting`).

- ``model``: the report's data, built once (:func:`model.build_report`) from ``inputs``
- ``html`` / ``markdown`` / ``Report.to_dict()``: the three renderings; ``charts``: inline SVG
- ``compare``: "new / resolved since last report" from summaries kept in state_dir
- ``mail``: the report as an email message
- ``trends``: records CPU and memory into the history for the sparklines (inside ``serve``)
"""
