"""Rotation function for Tencent Cloud Redis (handler: tencent_handler.lambda_handler)."""

from redis_rotation.entrypoint import lambda_handler_for

lambda_handler = lambda_handler_for("tencent")
