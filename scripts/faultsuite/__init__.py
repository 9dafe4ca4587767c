"""The fault-injection suite's families of faults, one module each, and what they share (common)."""
