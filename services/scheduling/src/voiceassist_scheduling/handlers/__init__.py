"""Entry points of the scheduling service: gRPC now, HTTP or NATS consumers where it needs them.

Handlers translate and validate what arrives, call the domain, and translate back; they raise
``voiceassist_common.errors`` and let the server interceptor choose the status code.
"""
