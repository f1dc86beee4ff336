"""Cluster mode enabled in the provider's reading of the answers (``views``): the nodes
are the ones DescribeCacheClusters gave, never an empty list."""

from __future__ import annotations

import pytest

from redis_rotation.errors import InstanceStateError
from redis_rotation.providers.elasticache.api import NODE_ENDPOINTS
from redis_rotation.providers.elasticache.views import group_addresses, node_addresses
from redis_rotation.secret import Endpoint

pytestmark = pytest.mark.unit

CONFIG = {"Address": "clustercfg.cm.example", "Port": 6379}
GROUP = {
    "ReplicationGroupId": "cm",
    "ClusterEnabled": True,
    "ConfigurationEndpoint": CONFIG,
    "MemberClusters": ["cm-0001-001", "cm-0002-001"],
    "NodeGroups": [
        {"NodeGroupId": "0001", "Slots": "0-8191", "NodeGroupMembers": [{"CacheClusterId": "x"}]},
        {"NodeGroupId": "0002", "Slots": "8192-16383", "NodeGroupMembers": []},
    ],
}
NODES = [{"Address": "cm-0001-001.example", "Port": 6379}, {"Address": "10.0.0.2", "Port": 6380}]


def test_a_cluster_mode_group_is_its_described_nodes_and_its_configuration_endpoint() -> None:
    described = {**GROUP, NODE_ENDPOINTS: NODES}
    nodes = [Endpoint("cm-0001-001.example", 6379), Endpoint("10.0.0.2", 6380)]
    assert node_addresses(described) == nodes
    configuration = Endpoint("clustercfg.cm.example", 6379)
    assert group_addresses(described) == frozenset([*nodes, configuration])


def test_a_cluster_mode_group_whose_nodes_were_not_described_is_refused() -> None:
    """Else no node would have to be listed in the secret, and none be proven."""
    with pytest.raises(InstanceStateError, match="NoNodeEndpoints"):
        node_addresses(GROUP)
    with pytest.raises(InstanceStateError, match="NoNodeEndpoints"):
        group_addresses(GROUP)
