#!/usr/bin/python3
"""test_ring_layout.py - shm/ring_layout.py (what Python tests and benches
read the ring header with) says exactly what shm/ring.h says: every field
and constant printed by ring_layout_dump, built from the header, matches.
Usage: test_ring_layout.py RING_LAYOUT_DUMP"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shm"))
import ring_layout  # noqa: E402

out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
c = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
bad = []
for field, (off, _) in ring_layout.HEADER.items():
    v = c.pop(field, None)
    if v != off:
        bad.append("%s: python %d, C %s" % (field, off, v))
for const, value in list(c.items()):
    if getattr(ring_layout, const, None) != value:
        bad.append("%s: python %r, C %d" % (const, getattr(ring_layout, const, None), value))
if bad:
    sys.exit("shm/ring_layout.py disagrees with shm/ring.h:\n  " + "\n  ".join(bad))
print("ring_layout.py matches ring.h: %d fields, %d constants" % (len(ring_layout.HEADER), len(c)))
