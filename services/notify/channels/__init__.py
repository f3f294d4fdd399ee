"""Notification channels as small plug-ins behind one interface (`Channel`).

A channel turns a delivery (what to say, to whom, over which configured
channel of theirs) into one outgoing request; the sender in
`notify.deliveries` runs it, records the outcome and retries.
"""
