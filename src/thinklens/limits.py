"""Process limits that thousands of requests in flight run into."""

from __future__ import annotations


def raise_open_file_limit(needed: int) -> int:
    """Raise the soft limit on open files towards `needed` (one socket per request in
    flight, plus headroom).  Many systems default to 1024, which a large
    eval_batch_size or perf concurrency would hit as 'Too many open files'."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
