"""Floor: the live status of a clinic's floor."""
