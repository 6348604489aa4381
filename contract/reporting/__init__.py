"""Reporting: renders a finished run for people and for CI. Decides nothing.

`console` renders the terminal report and `progress` the status line while a run
explores; `junit`, `json_report` and `documents` (report.md, report.html and the
reproduction scripts, from `reproduction` plans and Jinja2 templates) write the run's
report folder (`folder`). Every verdict and the run's outcome arrive decided
(`verdicts.Recorder.verdicts`, `plugin.Gate.outcome`).
"""
