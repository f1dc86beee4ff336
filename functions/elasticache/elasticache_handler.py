"""Rotation function for AWS ElastiCache (handler: elasticache_handler.lambda_handler)."""

from redis_rotation.entrypoint import lambda_handler_for

lambda_handler = lambda_handler_for("elasticache")
