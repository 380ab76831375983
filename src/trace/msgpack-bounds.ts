// Checks a msgpack document's shape before it is unpacked: a few bytes of
// msgpack can make a decoder allocate a lot (a one-byte empty array becomes a
// JavaScript object; an array header can claim 4 billion items) or recurse
// until the stack overflows (nested one-item arrays). This walk allocates
// nothing and uses no recursion; it refuses extension types (the format uses
// none), non-string map keys, counts the bytes cannot hold, nesting deeper
// than the caller allows, and more containers or items than it allows.

/** Bounds for one document. */
export interface ShapeLimits {
  /** Deepest nesting of arrays and maps (the top level is depth 1). */
  maxDepth: number;
  /** Most arrays and maps in the whole document. */
  maxContainers: number;
  /** Most array items plus map entries in the whole document. */
  maxItems: number;
}

/** Returns null when bytes hold exactly one msgpack value within the limits, else what is wrong. */
export function msgpackShape(b: Uint8Array, lim: ShapeLimits): string | null {
  const n = b.length;
  // Per open container: items still to read (map entries count as 2: key, value).
  const left: number[] = [];
  const isMap: boolean[] = [];
  let p = 0;
  let containers = 0;
  let items = 0;
  let values = 0;
  const need = (k: number) => p + k <= n;
  const u16 = () => (b[p]! << 8) | b[p + 1]!;
  const u32 = () => ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  for (;;) {
    if (left.length === 0 && values === 1) break;
    if (p >= n) return "ends inside a value";
    // A map key (an even count left in a map) must be a string.
    const top = left.length - 1;
    const wantKey = top >= 0 && isMap[top]! && left[top]! % 2 === 0;
    const t = b[p++]!;
    let skip = 0;
    let open = -1;
    let map = false;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) {
      // fixint, nil, bool
    } else if (t >= 0xa0 && t <= 0xbf) {
      skip = t & 0x1f;
    } else if (t >= 0x80 && t <= 0x8f) {
      open = t & 0x0f;
      map = true;
    } else if (t >= 0x90 && t <= 0x9f) {
      open = t & 0x0f;
    } else {
      switch (t) {
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xc4:
        case 0xd9:
          if (!need(1)) return "ends inside a length";
          skip = b[p]!;
          p += 1;
          break;
        case 0xc5:
        case 0xda:
          if (!need(2)) return "ends inside a length";
          skip = u16();
          p += 2;
          break;
        case 0xc6:
        case 0xdb:
          if (!need(4)) return "ends inside a length";
          skip = u32();
          p += 4;
          break;
        case 0xdc:
          if (!need(2)) return "ends inside a length";
          open = u16();
          p += 2;
          break;
        case 0xdd:
          if (!need(4)) return "ends inside a length";
          open = u32();
          p += 4;
          break;
        case 0xde:
          if (!need(2)) return "ends inside a length";
          open = u16();
          p += 2;
          map = true;
          break;
        case 0xdf:
          if (!need(4)) return "ends inside a length";
          open = u32();
          p += 4;
          map = true;
          break;
        default:
          return t === 0xc1
            ? "holds the unused type byte c1"
            : `holds an extension type (byte ${t.toString(16)} at ${p - 1})`;
      }
    }
    if (wantKey && !((t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb))
      return `has a map key that is not a string (at byte ${p - 1})`;
    if (skip > 0) {
      if (!need(skip)) return `a value of ${skip} bytes runs past the end (at byte ${p})`;
      p += skip;
    }
    // This value fills one slot of its container (or is the document).
    if (top >= 0) left[top]!--;
    else values++;
    if (open >= 0) {
      const slots = map ? open * 2 : open;
      // Every item takes at least one byte.
      if (slots > n - p) return `a container claims ${open} items, more than the ${n - p} bytes left can hold`;
      if (++containers > lim.maxContainers) return `more than ${lim.maxContainers} arrays and maps`;
      items += open;
      if (items > lim.maxItems) return `more than ${lim.maxItems} items`;
      if (slots > 0) {
        if (left.length + 1 > lim.maxDepth) return `nested deeper than ${lim.maxDepth}`;
        left.push(slots);
        isMap.push(map);
      }
    }
    while (left.length > 0 && left[left.length - 1] === 0) {
      left.pop();
      isMap.pop();
    }
  }
  if (p !== n) return `${n - p} bytes left over after the value`;
  return null;
}
