"""The voice-proxy service's adapters to the outside world, behind small interfaces.

What the voice proxy talks to: the speech-to-text, text-to-speech, triage, scheduling and
medical-kb services (through ``voiceassist_common.grpc.client``), the callers' audio transport,
and NATS for voice events. Nothing is here yet.
"""
