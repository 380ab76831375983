#!/usr/bin/env python3
"""A reference reader for .ktrace files (formats 1.x, 2.x and 3.x), written from
docs/FORMAT.md alone: the Python standard library plus the standard msgpack
package (`apt install python3-msgpack` or `pip install msgpack`), which decodes
everything but the varint columns of event chunks. It shows the format is
specified precisely enough to read in another language; test/trace-spec.test.ts
compares its output with the TypeScript reader's.

    python3 docs/reference-reader.py TRACE            # summary as JSON
    python3 docs/reference-reader.py TRACE --events   # every event, JSON lines
    python3 docs/reference-reader.py TRACE --snapshot N  # the snapshot at or before N
"""

import gzip
import json
import math
import struct
import sys
import zlib

try:
    import msgpack
except ImportError:
    sys.stderr.write("reference-reader.py: needs the msgpack package for this python3 "
                     "(apt install python3-msgpack, or pip install msgpack)\n")
    sys.exit(3)

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


def ints(v):
    """Integers above 2^32 may come as float 64: make them ints again (infinity, as a loop bound in the header's world, stays a float)."""
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    if isinstance(v, list):
        return [ints(x) for x in v]
    if isinstance(v, dict):
        return {k: ints(x) for k, x in v.items()}
    return v


def unpack(b):
    """One msgpack document, all of b."""
    return ints(msgpack.unpackb(b, raw=False))


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
    return inflate(flags, payload[p:], rawlen)


def inflate(flags, stream, rawlen):
    raw = zlib.decompress(stream, -15) if flags & 1 else stream
    if len(raw) != rawlen:
        raise ValueError("body length mismatch")
    return raw


def slot_use(kind_col, kinds):
    """Per event: its kind, how many of a, b, c it stores, and whether it stores a string."""
    kind, stores, has_str = [], [], []
    for v in kind_col:
        k, full = v >> 1, v & 1
        kind.append(k)
        if full or k >= len(kinds):
            stores.append(3)
            has_str.append(True)
        else:
            stores.append(min(3, max(0, kinds[k][1])))
            has_str.append(bool(kinds[k][2]))
    return kind, stores, has_str


class Column:
    """Reads varints from one run of bytes (format 2: a column; format 1: the whole body)."""

    def __init__(self, raw, p=0):
        self.raw, self.p = raw, p

    def u(self):
        v, self.p = uvar(self.raw, self.p)
        return v

    def s(self):
        v, self.p = svar(self.raw, self.p)
        return v

    def done(self, what):
        if self.p != len(self.raw):
            raise ValueError("%s not consumed exactly" % what)


def array_of_bins(doc, count, what):
    if not isinstance(doc, list) or len(doc) < count or not all(isinstance(x, bytes) for x in doc[:count]):
        raise ValueError("%s is not an array of %d bins" % (what, count))
    return doc


def decode_events(major, flags, payload, kinds):
    first, p = uvar(payload, 0)
    n, p = uvar(payload, p)
    side = None
    if major >= 3:
        # Two streams: the core body (format 2's array) and the side body
        # [cpu, tid, a, b, c, s] of the events of the kinds whose row says side.
        core_len, p = uvar(payload, p)
        side_len, p = uvar(payload, p)
        core_z, p = uvar(payload, p)
        raw = inflate(flags, payload[p:p + core_z], core_len)
        side_doc = array_of_bins(msgpack.unpackb(inflate(flags, payload[p + core_z:], side_len), raw=False), 6,
                                 "event chunk side body")
        side = {name: Column(side_doc[i]) for i, name in enumerate(("cpu", "tid", "a", "b", "c", "s"))}
    else:
        raw = body(flags, payload, p)
    if major == 1:
        # The columns concatenated; the scale leads the time column and the
        # string table the string indexes.
        c = Column(raw)
        cols = {"kind": c, "cpu": c, "tid": c, "time": c, "a": c, "b": c, "c": c, "s": c}
        scale = strings = None
    else:
        doc = msgpack.unpackb(raw, raw=False)
        if not isinstance(doc, list) or len(doc) < 12:
            raise ValueError("event chunk body is not an array of 12")
        if ints(doc[0]) != first or ints(doc[1]) != n:
            raise ValueError("event chunk body does not match its frame")
        scale, strings = ints(doc[2]), [""] + doc[3]
        names = ("kind", "cpu", "tid", "time", "a", "b", "c", "s")
        cols = {name: Column(doc[4 + i]) for i, name in enumerate(names)}
    kind, stores, has_str = slot_use([cols["kind"].u() for _ in range(n)], kinds)
    # Each event's columns but kind and time: from the side body if its kind is a side kind (format 3).
    src = [side if side is not None and k < len(kinds) and len(kinds[k]) > 3 and kinds[k][3] else cols
           for k in kind]
    cpu = [src[i]["cpu"].s() for i in range(n)]
    tid = [src[i]["tid"].s() for i in range(n)]
    if scale is None:
        scale = cols["time"].u()
    t, times = 0, []
    for _ in range(n):
        t += cols["time"].s() * scale
        times.append(t)
    slots = [[src[i][name].s() if stores[i] >= need else 0 for i in range(n)]
             for need, name in ((1, "a"), (2, "b"), (3, "c"))]
    if strings is None:
        c = cols["s"]
        strings = [""]
        for _ in range(c.u()):
            ln = c.u()
            strings.append(c.raw[c.p:c.p + ln].decode("utf-8"))
            c.p += ln
    s = [strings[src[i]["s"].u()] if has_str[i] else "" for i in range(n)]
    for name, c in cols.items():
        c.done("event column " + name)
    for name, c in (side or {}).items():
        c.done("event side column " + name)
    return [
        {"seq": first + i, "time": times[i], "cpu": cpu[i], "tid": tid[i], "kind": kind[i],
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
        if major > 3:
            raise Refused("written by a newer ktrace (format %d.x)" % major)
        if major < 1:
            raise Refused("format %d.%d is not read" % (major, minor))
        self.major, self.version = major, "%d.%d" % (major, minor)
        end = 16 + h + 4
        if end > len(data):
            raise Refused("truncated header")
        if zlib.crc32(data[:16 + h]) != struct.unpack_from("<I", data, 16 + h)[0]:
            raise Refused("damaged header")
        self.meta = unpack(data[16:16 + h])
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
        self.index = unpack(body(f[1], f[2], 0))
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
                ix["outcome"] = unpack(body(flags, payload, 0))["outcome"]
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
            yield from decode_events(self.major, flags, payload, kinds)

    def snapshot(self, seq):
        best = None
        for s, off in zip(self.index["snapshotSeqs"], self.index["snapshotOffsets"]):
            if s <= seq or best is None:
                best = off
        typ, flags, payload, _ = frame(self.data, best, len(self.data))
        _seq, p = svar(payload, 0)
        return unpack(body(flags, payload, p))


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
