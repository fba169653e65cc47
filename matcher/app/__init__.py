"""The application: the planning pipeline, re-plan, recommend, schedule.

The only layer that calls the solvers; the CLI and the service call it.
"""
