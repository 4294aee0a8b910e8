"""gRPC plumbing shared by every service: server bootstrap, interceptors, channels.

Modules: `server` (a grpc.aio server with health and reflection), `health` (the standard
health service, letting shutdown go at once), `interceptors` (tracing, RED metrics, error
mapping, deadline propagation), `client` (channels to other services), `deadlines` (the time
budget a request may still spend), `pending` (answers for capabilities a later issue builds).
Import the module you need; nothing is re-exported here so that importing one does not pay for
the others.
"""
