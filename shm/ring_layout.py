"""ring_layout.py - the ring file's header layout for Python tests and
benches, so no test carries its own offsets, and the record checksum (a
slow mirror of shm/ring_checksum.h, for tools that write or check records).
The numbers are those pinned by _Static_assert in shm/ring.h;
tests/shm/test_ring_layout.py checks every one against the C header (a
program built from it prints them), and checksum() against the C code.
"""
import struct

CONTROL_SIZE = 4096
RECORD_SIZE = 640
MAGIC = 0x474E4952454B4F54  # "TOKERING" little-endian
VERSION = 3  # RING_VERSION (3: the ring checksum replaced XXH3-64)

# struct ring_header: field -> (offset, struct format)
HEADER = {
    "magic": (0, "<Q"),
    "version": (8, "<I"),
    "record_size": (12, "<I"),
    "capacity": (16, "<I"),
    "producers_cap": (20, "<I"),
    "slots_offset": (24, "<Q"),
    "file_size": (32, "<Q"),
    "epoch": (40, "<Q"),
    "state": (48, "<I"),
    "heartbeat_ns": (64, "<Q"),
    "head": (72, "<Q"),
    "consumed": (80, "<Q"),
    "corrupt": (88, "<Q"),
    "skipped": (96, "<Q"),
    "tail": (128, "<Q"),
    "dropped": (192, "<Q"),  # dropped[reason], DROP_REASONS entries
    "registrations_failed": (224, "<Q"),
    "label_headers": (256, "32s"),  # label_headers[i], LABELS entries
}
DROP_REASONS = 4  # full, contention, late, detached (enum ring_drop_reason)
DROP_NAMES = ("full", "contention", "late", "detached")
LABELS = 2
LABEL_HEADER_LEN = 32

# enum ring_state
STATE_CREATING, STATE_LIVE, STATE_RETIRED = 0, 1, 2


def offset(field, index=0):
    off, fmt = HEADER[field]
    return off + index * struct.calcsize(fmt)


def read(buf, field, index=0):
    """A header field from a bytes-like view of the file (mmap, bytes)."""
    return struct.unpack_from(HEADER[field][1], buf, offset(field, index))[0]


def u64(buf, field, index=0):
    return read(buf, field, index)


def counters(buf):
    """The accounting fields, as the reliability tests compare them."""
    return {"head": read(buf, "head"), "consumed": read(buf, "consumed"),
            "corrupt": read(buf, "corrupt"), "skipped": read(buf, "skipped"),
            "tail": read(buf, "tail"),
            "dropped": [read(buf, "dropped", i) for i in range(DROP_REASONS)]}


# The record checksum (shm/ring_checksum.h has the definition and the why).
_M64 = (1 << 64) - 1
CHECKSUM_FROM = 16  # seq and checksum are not covered


def _checksum_key():
    """splitmix64 from 0x746f6b656e72696e, one word per word position of a
    record; words 2 and 3 (block 0's padding) are 0."""
    s, key = 0x746F6B656E72696E, []
    for _ in range(RECORD_SIZE // 8):
        s = (s + 0x9E3779B97F4A7C15) & _M64
        z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        key.append(z ^ (z >> 31))
    key[2] = key[3] = 0
    return tuple(key)


CHECKSUM_KEY = _checksum_key()


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M64


def checksum(rec):
    """The checksum of a record's bytes (RECORD_SIZE of them, little-endian
    words), as both sides of the ring compute it."""
    words = struct.unpack_from("<%dQ" % (RECORD_SIZE // 8), rec)
    acc = [0, 0, 0, 0]
    # block 0: words 2 and 3 in lanes 0 and 1 (with keys 0 and 1)
    placed = [(0, words[2], CHECKSUM_KEY[0]), (1, words[3], CHECKSUM_KEY[1])]
    placed += [(i & 3, words[i], CHECKSUM_KEY[i]) for i in range(4, RECORD_SIZE // 8)]
    for lane, w, k in placed:
        x = w ^ k
        acc[lane] = (acc[lane] + (x & 0xFFFFFFFF) * (x >> 32) + w) & _M64
    h = (acc[0] + _rotl(acc[1], 17) + _rotl(acc[2], 31) + _rotl(acc[3], 47)) & _M64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)
