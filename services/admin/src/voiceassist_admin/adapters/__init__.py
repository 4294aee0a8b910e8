"""The admin service's adapters to the outside world, behind small interfaces.

PostgreSQL (schema ``admin``: the hash-chained audit trail in ``audit_store``; migrations in
``migrations/``), and the identity provider behind ``IdentityProvisioner``: the auth service over
gRPC (``auth_provisioner``), Keycloak's admin API through python-keycloak
(``keycloak_provisioner``), or memory (``memory_provisioner``, for tests and demos).
"""
