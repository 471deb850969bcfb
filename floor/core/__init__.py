"""The clinic's rules, with no I/O: commands and a clock reading go in, events come out."""
