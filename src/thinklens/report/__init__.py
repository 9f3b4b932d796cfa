"""report.json and the console tables."""

from .build import Report, build_report, load_report, write_report
from .console import print_report

__all__ = ["Report", "build_report", "load_report", "print_report", "write_report"]
