"""The dashboard web page (`GET /dashboard`): static HTML, CSS and plain JavaScript over the
reports API, served as files with no build step."""
