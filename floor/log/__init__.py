"""Per-clinic event logs behind one small interface: embedded (local disk) by default."""
