"""ring_layout.py - the ring file's header layout for Python tests and
benches, so no test carries its own offsets. The numbers are those pinned
by _Static_assert in shm/ring.h; tests/shm/test_ring_layout.py checks every
one against the C header (a program built from it prints them).
"""
import struct

CONTROL_SIZE = 4096
RECORD_SIZE = 640
MAGIC = 0x474E4952454B4F54  # "TOKERING" little-endian

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
