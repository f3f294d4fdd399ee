"""Open311 GeoReport v2 (JSON and XML) under /open311/v2/, over intake's issues."""
