"""Memory: sustained verification with unique nonces levels off; a 256 MiB streamed body is never
buffered. Each case runs in a fresh interpreter so its RSS is its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(300)


RSS = """
import os
def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
"""


def run(code: str) -> dict[str, float]:
    source = RSS + textwrap.dedent(code)
    out = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=280, check=False
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_200k_unique_nonces_rss_levels_off() -> None:
    result = run(
        """
        import json
        import hmac_guard as hg
        secret = b"m" * 32
        clock = hg.ManualClock(1_700_000_000)
        guard = hg.Guard(keys=[{"id": "k1", "secret": secret}], clock=clock, max_age_secs=60)
        signer = hg.Signer("k1", secret, clock=clock)
        head = [("Host", "example.com")]
        body = b"x" * 1024
        marks = {}
        for i in range(1, 200_001):
            headers = head + signer.sign("POST", "/p", head, body)
            guard.verify("POST", "/p", headers, body)
            if i % 100 == 0:
                clock.advance(1)  # 100 requests per second: ~6 000 nonces live in a 60 s window
            if i % 50_000 == 0:
                marks[i] = rss_mib()
        print(json.dumps({str(k): v for k, v in marks.items()}))
        """
    )
    print(result)
    growth_second_half = result["200000"] - result["100000"]
    assert growth_second_half < 4, result


def test_256_mib_streamed_body_keeps_rss_growth_under_32_mib() -> None:
    result = run(
        """
        import hashlib, hmac, json, resource
        import hmac_guard as hg
        secret = b"s" * 32
        clock = hg.ManualClock(1_700_000_000)
        keys = [{"id": "k1", "secret": secret}]
        guard = hg.Guard(scheme="simple", keys=keys, clock=clock, body_limit=1 << 30)
        chunk = bytes(range(256)) * 4096  # 1 MiB, reused: the body never exists in memory
        n = 256
        digest = hashlib.sha256()
        for _ in range(n):
            digest.update(chunk)
        # The simple scheme's canonical string (SPEC.md), signed with the stdlib: the core's signer
        # wants the body in memory, which is exactly what this test must avoid.
        fields = ["HG1", "POST", "/upload", "1700000000", "nonce-0001", "k1", digest.hexdigest()]
        canonical = "\\n".join(fields)
        mac = hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()
        headers = [
            ("X-HMAC-Key-Id", "k1"),
            ("X-HMAC-Timestamp", "1700000000"),
            ("X-HMAC-Nonce", "nonce-0001"),
            ("X-HMAC-Content-SHA256", digest.hexdigest()),
            ("X-HMAC-Signature", mac),
            ("Content-Length", str(n * len(chunk))),
        ]
        before = rss_mib()
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        v = guard.begin("POST", "/upload", headers)
        for _ in range(n):
            v.update(chunk)
        verified = v.finish()
        assert verified.body_len == n * len(chunk)
        peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"before": before, "after": rss_mib(), "peak_growth": peak_after - peak_before}))
        """
    )
    print(result)
    assert result["peak_growth"] < 32, result
    assert result["after"] - result["before"] < 32, result
