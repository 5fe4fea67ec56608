#!/usr/bin/env python3
"""Verifies an export of essor's audit trail (`essor audit export DIR`) without essor: Python's
standard library for SHA-256, `openssl` (3.0 or later) for the Ed25519 signatures.

    python3 verify-audit-export.py DIR [PUBLIC-KEY.pem]

Give the public key you received apart from the export (printed by `essor audit init-key`,
shown on the page /admin/journal); without it, the export's own public-key.pem is used, which
proves nothing against whoever could rewrite the export. The algorithm is docs/operations.md's
« The audit trail ». Prints `verified N events`, or stops at the first seq that does not match.
"""
import hashlib, json, subprocess, sys, tempfile, os
d = sys.argv[1]; pub = sys.argv[2] if len(sys.argv) > 2 else os.path.join(d, "public-key.pem")
def field(v):
    if v is None: return b"\x00"
    b = v.encode(); return b"\x01" + len(b).to_bytes(8, "big") + b
head, heads = bytes(32), {0: bytes(32)}
for n, line in enumerate(open(os.path.join(d, "events.jsonl")), 1):
    e = json.loads(line)
    assert e["seq"] == n, f"seq {n}: found {e['seq']}"
    c = bytes.fromhex(e["commitment"])
    if e["payload"] is not None:
        assert hashlib.sha256(bytes.fromhex(e["salt"]) + e["payload"].encode()).digest() == c, f"seq {n}: commitment"
    leaf = hashlib.sha256(b"essor-audit-leaf-v1\x00" + n.to_bytes(8, "big", signed=True)
        + b"".join(field(e[k]) for k in ["id", "at", "actor_id", "action", "application_id",
                                         "call_id", "from_state", "to_state"]) + c).digest()
    assert leaf.hex() == e["leaf"], f"seq {n}: leaf"
    head = hashlib.sha256(head + leaf).digest()
    assert head.hex() == e["chain"], f"seq {n}: chain"
    heads[n] = head
for line in open(os.path.join(d, "checkpoints.jsonl")):
    cp = json.loads(line)
    assert cp["size"] in heads and heads[cp["size"]].hex() == cp["root"], f"checkpoint {cp['size']}: root"
    with tempfile.TemporaryDirectory() as t:
        msg, sig = os.path.join(t, "m"), os.path.join(t, "s")
        open(msg, "w").write(f"essor-audit-checkpoint-v1\n{cp['size']}\n{cp['root']}\n{cp['at']}\n")
        open(sig, "wb").write(bytes.fromhex(cp["signature"]))
        subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                        "-in", msg, "-sigfile", sig], check=True, capture_output=True)
print(f"verified {len(heads) - 1} events")
