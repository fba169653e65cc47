"""The joint reference: assignment and collective purchasing in one exact model.

For small instances only (docs/joint.md): it measures how far the default pipeline,
which assigns first and buys afterwards, is from the true joint optimum.
"""
