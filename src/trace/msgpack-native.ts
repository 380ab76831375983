// Importing this module turns on msgpackr's native string extractor (a Node-API
// add-on, where its prebuilt binary is installed) for every msgpack unpack in
// this thread. format.ts loads msgpackr's pure-JavaScript build, which `ktrace
// check`'s scan threads use: they read a snapshot once per segment, and the
// add-on costs each thread ~3-5 MB of resident memory. A seek reads a snapshot
// every time, 0.012 ms faster with the extractor (0.064 against 0.076 ms, 10M
// `stress`), so the cursor (replay/cursor.ts) imports this. Both builds share
// one unpack module, and the bytes they decode are the same.
// docs/BENCHMARKS.md, "Phase 6: check's memory, random seeks".

import "msgpackr";
