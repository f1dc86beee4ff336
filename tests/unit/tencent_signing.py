"""What the Tencent signing tests share: the known vectors, one request of each API, and
small helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
V2_CASES = sorted(path for path in (VECTORS / "tencent_v2").iterdir() if path.is_dir())
TC3_CASES = sorted(path for path in (VECTORS / "tencent_tc3").iterdir() if path.is_dir())
SECRET_ID = "AKIDexampleexampleexample"

V2_REQUEST: dict[str, Any] = {
    "http_method": "POST",
    "host": "redis.api.qcloud.com",
    "path": "/v2/index.php",
    "region": "ap-guangzhou",
    "timestamp": 1700000000,
    "nonce": 42,
}
PASSWORD_PARAMS = {
    "Action": "ModfiyRedisPassword",
    "redisId": "crs-1",
    "oldPassword": "0ld!Pass",
    "password": "N3w@Pass",
}
TC3_REQUEST: dict[str, Any] = {
    "host": "redis.tencentcloudapi.com",
    "action": "ModifyInstancePassword",
    "version": "2018-04-12",
    "region": "ap-guangzhou",
    "payload": b'{"InstanceId": "crs-1", "Password": "N3w@Pass"}',
    "content_type": "application/json",
    "timestamp": 1700000000,
}


def load_case(case_dir: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    return case


def without_signature(fields: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in fields.items() if key != "Signature"}
