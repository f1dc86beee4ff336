"""Secrets Manager rotation for managed Redis at UCloud and Tencent Cloud."""

# The one place the version is defined: pyproject.toml reads it, `redis-rotation --version`
# prints it, and a test holds the template's SemanticVersion and the CHANGELOG to it.
__version__ = "0.3.0"
