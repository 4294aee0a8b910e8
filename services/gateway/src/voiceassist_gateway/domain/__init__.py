"""The gateway's rules, in plain Python: readiness, problems, request ids, pending capabilities."""
