"""Reporting: renders a finished run for people and for CI. Decides nothing.

`console` renders the terminal report; `junit` and `json_report` write the run's
report folder. Every verdict and the run's outcome arrive decided
(`verdicts.Recorder.verdicts`, `plugin.Gate.outcome`).
"""
