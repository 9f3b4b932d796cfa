"""Accuracy against a thinking budget.

- estimated from stored traces (`thinklens budget RUN`): timeline.py (what a trace
  answers when cut at B), verdicts.py (forced answers graded, cached), estimate.py
  (the curve), estimator.py (the command's work), agreement.py (checking it against
  labels of forced answers);
- measured by budget forcing (`thinklens eval --thinking-budget ...`): forcing.py.
"""
