"""An emulator of UCloud's UMem API for URedis: master-replica groups
(ModifyURedisGroupPassword), distributed spaces (ModifyUMemPassword) and DescribeUMem.

It checks requests as UCloud does (Action, PublicKey, the sha1 Signature over the sorted
parameters; ProjectId on every request of a sub-account's key) and the password rules the
provider documents (base64-decoded: 6-36 letters, digits, '-', '_'; empty removes the
password; only a master group may be changed; Zone is required for a space), and applies
the change to a real redis-server, optionally after a delay spent in the ``SetPassword``
state (``models``; the wire is ``api``).

RetCodes 160, 161, 170, 171, 172 and 153 are UCloud's documented ones. UCloud documents no
specific code for a bad or missing parameter, an unknown instance, a sub-account's missing
ProjectId, a slave or a busy instance: the emulator answers 230 ("Params [X] not
available", UCloud's generic parameter error; "Missing Params [zone_id]" for a space's
missing Zone, as UCloud's backend words it) for the first four and the codes in
EMULATOR_CODES for the others.
"""

from localcloud.emulators.uredis.api import EMULATOR_CODES, URedisEmulator
from localcloud.emulators.uredis.models import Group, Space

__all__ = ["EMULATOR_CODES", "Group", "Space", "URedisEmulator"]
