"""Alibaba's proxy endpoint in front of a redis-server, as far as AUTH goes.

Alibaba documents the one-argument ``AUTH <account>:<password>`` for custom accounts
(``redis-cli -a testaccount:Rp829dlwa``) and ``AUTH <password>`` for the default account.
Neither names nor passwords may contain ``:``, so the split at the first ``:`` is
unambiguous; the front forwards ``AUTH <account> <password>`` to the real redis-server,
where each account is an ACL user. A cluster instance in proxy mode is this one endpoint.
"""

from __future__ import annotations

from localcloud.emulators.tencent.front import AuthFront


class AlibabaFront(AuthFront):
    """Tencent's front with Alibaba's separator: the forwarding is the same."""

    separator = b":"
