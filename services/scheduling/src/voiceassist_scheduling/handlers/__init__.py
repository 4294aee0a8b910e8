"""Entry points of the scheduling service: gRPC, the guest-upgrade consumer, the reminder worker.

Handlers translate and validate what arrives, call the domain, and translate back; they raise
``voiceassist_common.errors`` and let the server interceptor choose the status code.
"""
