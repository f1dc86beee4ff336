"""The local-cloud verbs: ``up``, ``demo``, ``rotate``, ``add-secret``, ``env``."""

from localcloud.cli import register

__all__ = ["register"]
