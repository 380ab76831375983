#!/usr/bin/env python3
"""A reference reader for .ktrace files (format 1.x), written from docs/FORMAT.md
alone, with the Python standard library only. It shows the format is specified
precisely enough to read in another language; test/trace-spec.test.ts compares its
output with the TypeScript reader's.

    python3 docs/reference-reader.py TRACE            # summary as JSON
    python3 docs/reference-reader.py TRACE --events   # every event, JSON lines
    python3 docs/reference-reader.py TRACE --snapshot N  # the snapshot at or before N
"""

import gzip
import json
import struct
import sys
import zlib

MAGIC = b"\x89KTR\r\n\x1a\n"
FOOTER_MAGIC = b"\x89KTF\r\n\x1a\n"


class Refused(Exception):
    pass


# --- varints and msgpack ---------------------------------------------------

def uvar(b, p):
    v, shift = 0, 0
    while True:
        if p >= len(b):
            raise ValueError("varint runs past the end")
        x = b[p]
        p += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            return v, p


def svar(b, p):
    z, p = uvar(b, p)
    return (z >> 1) if z % 2 == 0 else -((z + 1) >> 1), p


def unpack(b, p=0):
    """Decodes one msgpack value at p; returns (value, next position)."""
    t = b[p]
    p += 1
    if t <= 0x7F:
        return t, p
    if t >= 0xE0:
        return t - 0x100, p
    if 0x80 <= t <= 0x8F:
        return unpack_map(b, p, t & 0x0F)
    if 0x90 <= t <= 0x9F:
        return unpack_array(b, p, t & 0x0F)
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return b[p:p + n].decode("utf-8"), p + n
    fixed = {
        0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
        0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
        0xCA: ">f", 0xCB: ">d",
    }
    if t == 0xC0:
        return None, p
    if t == 0xC2:
        return False, p
    if t == 0xC3:
        return True, p
    if t in fixed:
        fmt = fixed[t]
        n = struct.calcsize(fmt)
        (v,) = struct.unpack(fmt, b[p:p + n])
        if t == 0xCB and v == int(v):
            v = int(v)  # integers above 2^32 may come as float 64
        return v, p + n
    sizes = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I",
             0xDC: ">H", 0xDD: ">I", 0xDE: ">H", 0xDF: ">I"}
    if t in sizes:
        fmt = sizes[t]
        k = struct.calcsize(fmt)
        (n,) = struct.unpack(fmt, b[p:p + k])
        p += k
        if t in (0xD9, 0xDA, 0xDB):
            return b[p:p + n].decode("utf-8"), p + n
        if t in (0xC4, 0xC5, 0xC6):
            return bytes(b[p:p + n]), p + n
        if t in (0xDC, 0xDD):
            return unpack_array(b, p, n)
        return unpack_map(b, p, n)
    raise ValueError("msgpack type 0x%02x not supported" % t)


def unpack_array(b, p, n):
    out = []
    for _ in range(n):
        v, p = unpack(b, p)
        out.append(v)
    return out, p


def unpack_map(b, p, n):
    out = {}
    for _ in range(n):
        k, p = unpack(b, p)
        v, p = unpack(b, p)
        out[k] = v
    return out, p


# --- chunks ------------------------------------------------------------------

def frame(data, off, end):
    """The chunk at off: (type, flags, payload, next offset), or a string saying what is wrong."""
    if off + 12 > end:
        return "cut short"
    typ, flags, _res, length, crc = struct.unpack_from("<BBHII", data, off)
    if off + 12 + length > end:
        return "cut short"
    payload = data[off + 12:off + 12 + length]
    if zlib.crc32(payload, zlib.crc32(data[off:off + 8])) != crc:
        return "checksum mismatch"
    return typ, flags, payload, off + 12 + length


def body(flags, payload, p):
    rawlen, p = uvar(payload, p)
    raw = zlib.decompress(payload[p:], -15) if flags & 1 else payload[p:]
    if len(raw) != rawlen:
        raise ValueError("body length mismatch")
    return raw


def decode_events(flags, payload, kinds):
    first, p = uvar(payload, 0)
    n, p = uvar(payload, p)
    raw = body(flags, payload, p)
    p = 0
    kind, stores, has_str = [], [], []
    for _ in range(n):
        v, p = uvar(raw, p)
        k, full = v >> 1, v & 1
        kind.append(k)
        if full or k >= len(kinds):
            stores.append(3)
            has_str.append(True)
        else:
            stores.append(min(3, max(0, kinds[k][1])))
            has_str.append(bool(kinds[k][2]))
    cols = {}
    for name in ("cpu", "tid"):
        col = []
        for _ in range(n):
            v, p = svar(raw, p)
            col.append(v)
        cols[name] = col
    scale, p = uvar(raw, p)
    t, times = 0, []
    for _ in range(n):
        d, p = svar(raw, p)
        t += d * scale
        times.append(t)
    slots = []
    for need in (1, 2, 3):
        col = []
        for i in range(n):
            if stores[i] >= need:
                v, p = svar(raw, p)
                col.append(v)
            else:
                col.append(0)
        slots.append(col)
    m, p = uvar(raw, p)
    strings = [""]
    for _ in range(m):
        ln, p = uvar(raw, p)
        strings.append(raw[p:p + ln].decode("utf-8"))
        p += ln
    s = []
    for i in range(n):
        if has_str[i]:
            j, p = uvar(raw, p)
            s.append(strings[j])
        else:
            s.append("")
    if p != len(raw):
        raise ValueError("event chunk body not consumed exactly")
    return [
        {"seq": first + i, "time": times[i], "cpu": cols["cpu"][i], "tid": cols["tid"][i], "kind": kind[i],
         "a": slots[0][i], "b": slots[1][i], "c": slots[2][i], "s": s[i]}
        for i in range(n)
    ]


# --- opening -----------------------------------------------------------------

class Trace:
    def __init__(self, data):
        if len(data) == 0:
            raise Refused("empty file")
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (EOFError, OSError):
                d = zlib.decompressobj(16 + 15)
                data = d.decompress(data)  # cut short: what inflates
        self.data = data
        n = min(len(data), len(MAGIC))
        if data[:n] != MAGIC[:n]:
            raise Refused("not a ktrace file")
        if len(data) < 16:
            raise Refused("truncated header")
        major, minor, h = struct.unpack_from("<HHI", data, 8)
        if major > 1:
            raise Refused("written by a newer ktrace (format %d.x)" % major)
        if major < 1:
            raise Refused("format %d.%d is not read" % (major, minor))
        self.version = "%d.%d" % (major, minor)
        end = 16 + h + 4
        if end > len(data):
            raise Refused("truncated header")
        if zlib.crc32(data[:16 + h]) != struct.unpack_from("<I", data, 16 + h)[0]:
            raise Refused("damaged header")
        self.meta, _ = unpack(data, 16)
        self.header_end = end
        self.recovery = None
        if not self.open_index():
            self.scan()

    def open_index(self):
        d = self.data
        if len(d) < self.header_end + 32 or d[-8:] != FOOTER_MAGIC:
            return False
        foot = d[-32:]
        if zlib.crc32(foot[:20]) != struct.unpack_from("<I", foot, 20)[0]:
            return False
        off, events, length = struct.unpack_from("<QQI", foot, 0)
        f = frame(d, off, off + length)
        if isinstance(f, str) or f[0] != 3:
            return False
        self.index, _ = unpack(body(f[1], f[2], 0))
        return self.index["events"] == events

    def scan(self):
        d = self.data
        ix = {"events": 0, "outcome": None, "chunkOffsets": [], "chunkFirstSeqs": [], "chunkCounts": [],
              "snapshotSeqs": [], "snapshotOffsets": []}
        off, no, reason = self.header_end, 0, None
        while True:
            if off == len(d):
                reason = "no footer"
                break
            f = frame(d, off, len(d))
            if isinstance(f, str):
                reason = "%s in chunk %d at byte offset %d" % (f, no, off)
                break
            typ, flags, payload, nxt = f
            if typ == 1:
                first, p = uvar(payload, 0)
                n, _ = uvar(payload, p)
                if first != ix["events"]:
                    reason = "chunk %d out of sequence" % no
                    break
                ix["chunkOffsets"].append(off)
                ix["chunkFirstSeqs"].append(first)
                ix["chunkCounts"].append(n)
                ix["events"] += n
            elif typ == 2:
                seq, _ = svar(payload, 0)
                ix["snapshotSeqs"].append(seq)
                ix["snapshotOffsets"].append(off)
            elif typ == 3:
                ix["outcome"] = unpack(body(flags, payload, 0))[0]["outcome"]
                off = nxt
                reason = "no footer" if off == len(d) else "footer damaged or cut short"
                break
            off = nxt
            no += 1
        self.index = ix
        self.recovery = {"events": ix["events"], "snapshots": len(ix["snapshotSeqs"]),
                         "lastSeq": ix["events"] - 1, "reason": reason}

    def events(self):
        kinds = self.meta["kinds"]
        for off in self.index["chunkOffsets"]:
            typ, flags, payload, _ = frame(self.data, off, len(self.data))
            yield from decode_events(flags, payload, kinds)

    def snapshot(self, seq):
        best = None
        for s, off in zip(self.index["snapshotSeqs"], self.index["snapshotOffsets"]):
            if s <= seq or best is None:
                best = off
        typ, flags, payload, _ = frame(self.data, best, len(self.data))
        _seq, p = svar(payload, 0)
        return unpack(body(flags, payload, p))[0]


def main(argv):
    with open(argv[1], "rb") as f:
        data = f.read()
    try:
        t = Trace(data)
    except Refused as e:
        print(json.dumps({"refused": str(e)}))
        return 2
    if "--events" in argv:
        for ev in t.events():
            print(json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
        return 0
    if "--snapshot" in argv:
        print(json.dumps(t.snapshot(int(argv[argv.index("--snapshot") + 1])), ensure_ascii=False))
        return 0
    m = t.meta
    print(json.dumps({
        "formatVersion": t.version, "writer": m["writer"], "scenario": m["scenario"], "fix": m["fix"],
        "seed": m["seed"], "cpus": m["config"]["cpus"], "options": m["options"],
        "events": t.index["events"], "snapshots": len(t.index["snapshotSeqs"]),
        "outcome": t.index["outcome"], "recovered": t.recovery,
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
