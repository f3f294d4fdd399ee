"""The staff workbench: the pages a 楼长 opens from a message, served under LOUZHANG_PUBLIC_URL."""
