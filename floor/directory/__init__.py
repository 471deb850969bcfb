"""Staff, sessions and displays: see floor.directory.base."""
