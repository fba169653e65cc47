"""The domain: entities, the instance and its validation, plans, parameters, events.

Everything the solvers, the application, the service and the checker share. It
imports nothing of the project outside itself (an import-linter contract says so).
"""
