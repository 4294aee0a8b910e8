"""WebSocket entry points of the gateway: the patient's conversation (/ws/v1/conversation)."""
