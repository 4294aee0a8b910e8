"""The gateway's clients of other services."""
