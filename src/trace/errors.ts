// Typed errors of the trace layer. Every message is one line: what is wrong,
// where, and what to do. The CLI prints `ktrace: <message>` and exits with
// `exitCode`.

export type TraceErrorCode =
  | "missing" // no file at the path
  | "directory" // the path is a directory
  | "empty" // zero-length file
  | "bad-magic" // not a ktrace file
  | "newer-version" // a newer major format version
  | "bad-header" // header cut short or damaged
  | "corrupt" // a chunk's checksum or contents are wrong
  | "read" // an I/O error while reading
  | "write" // an I/O error while writing (ENOSPC, EIO, ...)
  | "bad-event" // the writer was given an event it cannot store
  | "usage"; // the API was misused (append after finish, ...)

export class TraceError extends Error {
  override name = "TraceError";
  /** Process exit code the CLI should use. */
  readonly exitCode: number;
  readonly code: TraceErrorCode;
  /** The file concerned, when there is one. */
  readonly path: string | undefined;

  constructor(code: TraceErrorCode, message: string, path?: string, exitCode = 2) {
    super(message);
    this.code = code;
    this.path = path;
    this.exitCode = exitCode;
  }
}

/** Seqs a damaged trace does not hold: events fromSeq..toSeq (inclusive) are missing, and why. */
export interface Gap {
  fromSeq: number;
  toSeq: number;
  /** What happened to them, e.g. "chunk 5 at byte offset 5366 is damaged: checksum mismatch". */
  reason: string;
}

/**
 * A chunk failed its checksum or did not decode (chunk -1: no one chunk, e.g.
 * events the file ends before, or no snapshot to start from). `gap` is set when the damage costs events:
 * the rest of the trace stays usable, and readers go on past it.
 */
export class TraceCorruptError extends TraceError {
  override name = "TraceCorruptError";
  /** Chunk number (0-based, counting every chunk in file order) and its byte offset. */
  readonly chunk: number;
  readonly offset: number;
  /** The events this damage makes unreadable, when it concerns events. */
  readonly gap: Gap | undefined;
  /** The message without the file name: what is damaged and how. */
  readonly detail: string;

  /**
   * `what` says what is wrong with the chunk ("checksum mismatch"); with
   * `sentence`, it is the whole description already ("CRC mismatch in chunk
   * 5 at byte offset 5366", "the file ends before them").
   */
  constructor(
    path: string | undefined,
    chunk: number,
    offset: number,
    what: string,
    gap?: { fromSeq: number; toSeq: number },
    sentence = false,
  ) {
    const where = sentence ? what : `chunk ${chunk} at byte offset ${offset} is damaged: ${what}`;
    super(
      "corrupt",
      `${path ?? "trace"}: ${gap ? `events ${gap.fromSeq}..${gap.toSeq} are missing: ${where}` : where}`,
      path,
    );
    this.chunk = chunk;
    this.offset = offset;
    this.gap = gap ? { fromSeq: gap.fromSeq, toSeq: gap.toSeq, reason: where } : undefined;
    this.detail = where;
  }
}

/**
 * Writing the trace failed. When the partial file holds something usable (the
 * header and the initial state at least) it is kept, and the message says how
 * many events it holds and how to open it; otherwise it was removed, and the
 * message says so.
 */
export class TraceWriteError extends TraceError {
  override name = "TraceWriteError";
  /** The temporary file being written (it may be gone: see `kept`). */
  readonly partialPath: string;
  /** The system error code (ENOSPC, EACCES, ...) when known. */
  readonly sysCode: string | undefined;
  /** Events in the complete chunks the kept partial file holds; null when it was removed or never created. */
  readonly kept: number | null;

  constructor(partialPath: string, sysCode: string | undefined, what: string, kept: number | null = null) {
    const after =
      kept === null
        ? `nothing usable was written, and ${partialPath} was removed`
        : `the complete chunks written so far (${kept} event${kept === 1 ? "" : "s"}) are kept in ${partialPath}: open it with ktrace info ${partialPath}`;
    super("write", `cannot write trace ${partialPath}: ${what}; ${after}`, partialPath);
    this.partialPath = partialPath;
    this.sysCode = sysCode;
    this.kept = kept;
  }
}
