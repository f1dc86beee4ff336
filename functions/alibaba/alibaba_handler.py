"""Rotation function for Alibaba Cloud Tair/Redis (handler: alibaba_handler.lambda_handler)."""

from redis_rotation.entrypoint import lambda_handler_for

lambda_handler = lambda_handler_for("alibaba")
