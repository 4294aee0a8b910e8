"""The medical-kb service's domain logic: pure Python, no I/O imports.

The medical knowledge base's logic: retrieving passages and assembling answers with their
citations, and the clinical calculators. Nothing is here yet: the issue that builds the
capability adds it.
"""
