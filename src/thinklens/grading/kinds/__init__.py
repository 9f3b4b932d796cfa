"""One module per grader, each defining ``GRADER`` (a `grading.grader.Grader`); the
module's name is the grader's name (see grading/registry.py)."""
