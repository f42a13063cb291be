#!/usr/bin/python3
"""test_ring_layout.py - shm/ring_layout.py (what Python tests and benches
read the ring header with) says exactly what shm/ring.h says: every field
and constant printed by ring_layout_dump, built from the header, matches;
and its checksum() is the C checksum: the same key, word for word, and the
same value for every patterned record the dump hashes.
Usage: test_ring_layout.py RING_LAYOUT_DUMP"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shm"))
import ring_layout  # noqa: E402

out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
rows = [line.split() for line in out.splitlines()]
c = {r[0]: int(r[1]) for r in rows if len(r) == 2}
keys = {int(r[1]): int(r[2]) for r in rows if r[0] == "KEY"}
sums = {int(r[1]): int(r[2]) for r in rows if r[0] == "SUM"}
bad = []
if keys != dict(enumerate(ring_layout.CHECKSUM_KEY)):
    bad.append("checksum key: python %r, C %r" % (ring_layout.CHECKSUM_KEY, keys))
if len(sums) != 5:
    bad.append("expected 5 SUM lines, got %d" % len(sums))
for p, v in sums.items():
    rec = bytes(0 if p == 4 else (i * 31 + p * 7) & 0xff for i in range(ring_layout.RECORD_SIZE))
    if ring_layout.checksum(rec) != v:
        bad.append("checksum of pattern %d: python %d, C %d" % (p, ring_layout.checksum(rec), v))
for field, (off, _) in ring_layout.HEADER.items():
    v = c.pop(field, None)
    if v != off:
        bad.append("%s: python %d, C %s" % (field, off, v))
for const, value in list(c.items()):
    if getattr(ring_layout, const, None) != value:
        bad.append("%s: python %r, C %d" % (const, getattr(ring_layout, const, None), value))
if bad:
    sys.exit("shm/ring_layout.py disagrees with shm/ring.h:\n  " + "\n  ".join(bad))
print("ring_layout.py matches ring.h: %d fields, %d constants, %d key words, %d checksums" %
      (len(ring_layout.HEADER), len(c), len(keys), len(sums)))
