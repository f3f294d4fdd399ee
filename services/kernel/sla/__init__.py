"""The SLA: the working calendar (calendar.py) and the deadline policy on it (deadlines.py)."""
