"""The operator's tools: the `louzhang` command line, the supervisor behind `make run`, the embedded
MongoDB, the local cluster, dead letters and backups. A service adds its own commands through the
`louzhang.commands` entry points (pyproject.toml); nothing here imports a service's insides."""
