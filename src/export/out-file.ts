// Writing an output file (report, export) the safe way: into `<path>.partial`
// with buffered writes, then renamed onto `<path>`, so an existing file is only
// ever replaced by a complete one.

import { closeSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";

/** Cannot write an output file. exitCode 2. */
export class OutputError extends Error {
  readonly exitCode = 2;
}

function why(e: unknown): string {
  const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "";
  if (code === "ENOENT") return "the directory does not exist";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOSPC") return "no space left on device";
  if (code === "EISDIR") return "it is a directory";
  return e instanceof Error ? e.message : String(e);
}

/** An output file written in pieces (text or bytes); nothing appears at `path` until finish(). */
export class OutFile {
  private fd: number;
  private buf: string[] = [];
  private size = 0;
  private readonly partial: string;
  private readonly enc = new TextEncoder();

  constructor(readonly path: string) {
    this.partial = `${path}.partial`;
    try {
      this.fd = openSync(this.partial, "w");
    } catch (e) {
      throw new OutputError(`cannot write ${path}: ${why(e)}`);
    }
  }

  write(text: string): void {
    this.buf.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) this.flush();
  }

  /** Writes bytes after any text written so far (unbuffered: pass pieces of a useful size). */
  writeBytes(b: Uint8Array): void {
    this.flush();
    this.put(b);
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    const b = this.enc.encode(this.buf.join(""));
    this.buf = [];
    this.size = 0;
    this.put(b);
  }

  private put(b: Uint8Array): void {
    try {
      let done = 0;
      while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
    } catch (e) {
      this.abort();
      throw new OutputError(`cannot write ${this.path}: ${why(e)}`);
    }
  }

  /** Flushes, closes and renames into place. */
  finish(): void {
    this.flush();
    try {
      closeSync(this.fd);
      this.fd = -1;
      renameSync(this.partial, this.path);
    } catch (e) {
      this.abort();
      throw new OutputError(`cannot write ${this.path}: ${why(e)}`);
    }
  }

  /** Closes and removes the partial file. */
  abort(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* gone */
      }
      this.fd = -1;
    }
    try {
      unlinkSync(this.partial);
    } catch {
      /* not there */
    }
  }
}

/** Writes a whole text file atomically. */
export function writeTextFile(path: string, text: string): void {
  const f = new OutFile(path);
  f.write(text);
  f.finish();
}
