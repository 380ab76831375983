// A source that answers as another one for all it does not change: the
// base of the ReplaySource wrappers (source.ts's displaySafe view, the scan
// pipeline's ring in decode-ring.ts). Type imports only, so that a module the
// decode worker loads can use it without loading the replay engine.

import type { KEvent, KState, Outcome } from "../kernel/types.ts";
import type { Gap } from "../trace/errors.ts";
import type { Recovery } from "../trace/reader.ts";
import type { ReplaySource, SourceMeta } from "./source.ts";

/**
 * A source that answers as another one, src, for all it does not change: the
 * wrappers (displaySafe's SafeTextSource, the scan pipeline's RingSource)
 * extend it and override what they change.
 */
export abstract class WrappedSource<S extends ReplaySource = ReplaySource> implements ReplaySource {
  abstract readonly meta: SourceMeta;
  abstract readonly outcome: Outcome | null;
  constructor(readonly src: S) {}
  get eventCount(): number {
    return this.src.eventCount;
  }
  get snapshotSeqs(): readonly number[] {
    return this.src.snapshotSeqs;
  }
  get chunkFirstSeqs(): readonly number[] {
    return this.src.chunkFirstSeqs;
  }
  get recovery(): Recovery | null {
    return this.src.recovery;
  }
  get gaps(): readonly Gap[] {
    return this.src.gaps;
  }
  loadSnapshot(seqAtOrBefore: number): { seq: number; state: KState } {
    return this.src.loadSnapshot(seqAtOrBefore);
  }
  loadSnapshotFrom(seqAtOrAfter: number): { seq: number; state: KState } | null {
    return this.src.loadSnapshotFrom(seqAtOrAfter);
  }
  chunkOf(seq: number): number {
    return this.src.chunkOf(seq);
  }
  readChunk(i: number): readonly KEvent[] {
    return this.src.readChunk(i);
  }
  close(): void {
    this.src.close();
  }
}
