"""Alibaba Cloud Tair/Redis (R-KVStore): the API client and error codes; the provider
itself lands on the provider contract of docs/architecture.md."""
