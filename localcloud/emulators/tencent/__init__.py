"""An emulator of Tencent Cloud Redis (CRS) password APIs, both generations on one server.

- API 2.0 at ``/v2/index.php`` (``v2``): ``ModfiyRedisPassword`` (sic) and
  ``DescribeTaskInfo``, HMAC-signed form parameters with Timestamp and Nonce.
- API 3.0 at ``/`` (``v3``): ModifyInstancePassword, ResetPassword, DescribeTaskInfo,
  DescribeInstances, TC3-HMAC-SHA256.

Extra parameters the official SDK adds (RequestClient, Version, Language; X-TC-* headers)
are accepted. The documented password rules are enforced independently of the rotation's
own policies (so the emulator can catch a wrong policy), as are the old password and the
instance's state (``rules``). A change runs as an asynchronous task of configurable
duration (``models``): while it runs the instance reports Status 1 ("in a workflow") and
refuses another change (10702 / ResourceUnavailable.InstanceStatusAbnormal); when it ends
the password is applied to the real redis-server, or, with failure injection, the task
fails and nothing changes. Custom accounts (``accounts``) are ACL users of the real
redis-server, and ``front`` speaks Tencent's one-argument ``AUTH account@password`` in
front of it. Each action is limited to ``rate_limit`` requests in any
one-second window (4400 / RequestLimitExceeded). Each wire module lists the emulator's
choices where Tencent documents nothing.
"""

from localcloud.emulators.tencent.emulator import TencentEmulator
from localcloud.emulators.tencent.front import AuthFront
from localcloud.emulators.tencent.models import Account, Instance, Task
from localcloud.emulators.tencent.rules import RATE_LIMIT
from localcloud.emulators.tencent.v2 import V2_PATH
from localcloud.emulators.tencent.v3 import V3_PATH

__all__ = [
    "RATE_LIMIT",
    "V2_PATH",
    "V3_PATH",
    "Account",
    "AuthFront",
    "Instance",
    "Task",
    "TencentEmulator",
]
