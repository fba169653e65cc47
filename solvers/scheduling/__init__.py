"""Machine-level scheduling (issue #8): a problem, a CP-SAT back-end, importers."""
