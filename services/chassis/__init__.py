"""The platform every service is built on: settings, the FastAPI app, tokens, the bus, the store,
the outbox relay, rate limits, the directory replica, the outbound URL guard. Imports the kernel,
never a service."""
