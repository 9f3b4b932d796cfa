"""Helpers shared by the tests and bench/ (they never ship in the wheel).

shared_data   where the public data lives (THINKLENS_SHARED_DATA or ../shared/data)
realdata      real model answers from the shared data, as GradeRequests
corpus        the labelled grading corpus of tests/grading/
calibration   `thinklens perf` checked against the mock server's own timing
tiny          a tiny random Qwen2 checkpoint with the real tokenizer (needs torch)
stats         Spearman rank correlation
http_helpers, judge_server, efficiency_helpers, viewer_data: servers and run folders for tests
"""
