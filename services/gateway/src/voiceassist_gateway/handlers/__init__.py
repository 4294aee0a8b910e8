"""Entry points of the gateway: translate requests, call the domain, shape the answers."""
