"""The domain kernel every service shares: the event schemas, the directory model, enterprises,
durations, times (and the one Asia/Shanghai zone), the SLA calendar and deadlines, the 回访 rule.
Data and pure rules (the calendar reads its holidays file when built): no network, no database,
and no import from any other package of the project."""
