"""What a provider's change is given by a test that did not inspect the instance first."""

from redis_rotation.providers.base import Inspection, InstanceStatus

# Ready, no addresses, no listing: a provider that needs its own answer asks again.
UNSEEN = Inspection(InstanceStatus(ready=True, busy=False, detail="running"), None)
