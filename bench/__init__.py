"""`make bench`: the whole loop measured on this machine (issue 9), and the reporting summary
over a million seeded issues (issue 7). `python -m bench --help` lists the options."""
