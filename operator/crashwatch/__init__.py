"""crashwatch: says why Kubernetes containers fail, and repairs it where a team opts in."""

__version__ = "0.1.0"
