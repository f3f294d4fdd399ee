"""The domain kernel every service shares: the event schemas, the directory model, enterprises,
durations, times (and the one Asia/Shanghai zone), the reporter's link and the 回访 rule.
Pure data and rules: no I/O, and no import from any other package of the project."""
