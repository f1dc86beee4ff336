"""An emulator of UCloud's UMem API for URedis: ModifyURedisGroupPassword and DescribeUMem.

It checks requests as UCloud does (Action, PublicKey, the sha1 Signature over the sorted
parameters) and the password rules the provider documents (base64-decoded: 6-36 letters,
digits, '-', '_'; empty removes the password; only a master may be changed), and applies
the change to a real redis-server, optionally after a delay spent in the ``SetPassword``
state (``models``; the wire is ``api``).

RetCodes 160, 161, 170, 171, 172 and 153 are UCloud's documented ones. UCloud documents no
specific code for a bad parameter, an unknown group, a slave or a busy group: the emulator
answers 230 ("Params [X] not available", UCloud's generic parameter error) for the first
two and the codes in EMULATOR_CODES for the others.
"""

from localcloud.emulators.uredis.api import EMULATOR_CODES, URedisEmulator
from localcloud.emulators.uredis.models import Group

__all__ = ["EMULATOR_CODES", "Group", "URedisEmulator"]
