"""An emulator of Alibaba Cloud Tair/Redis (R-KVStore API 2015-01-01) for password rotation.

- ``api``: the RPC wire, ACS3-HMAC-SHA256 checked as Alibaba does (15-minute x-acs-date
  window, each nonce once, the common error codes), and DescribeInstanceAttribute,
  DescribeAccounts, DescribeDBInstanceNetInfo, ModifyInstanceAttribute (NewPassword: the
  default account), ResetAccountPassword, ModifyAccountPassword and CreateAccount with
  their documented fields, statuses, password rule and codes.
- ``models``: keys, nonces, instances (standard, rwsplit, cluster) and accounts; a change
  lands on a real redis-server, at once or after a delay during which a second change
  gets TaskExists.
- ``front``: the proxy endpoint with Alibaba's ``AUTH account:password``; a cluster
  instance in proxy mode is one such endpoint.

One emulator is one regional endpoint; regions of one account share an ``AlibabaCloud``.
"""

from localcloud.emulators.alibaba.api import EMULATOR_CODES, SPECIALS, password_allowed
from localcloud.emulators.alibaba.emulator import AlibabaEmulator
from localcloud.emulators.alibaba.front import AlibabaFront
from localcloud.emulators.alibaba.models import Account, AlibabaCloud, Instance

__all__ = [
    "EMULATOR_CODES",
    "SPECIALS",
    "Account",
    "AlibabaCloud",
    "AlibabaEmulator",
    "AlibabaFront",
    "Instance",
    "password_allowed",
]
