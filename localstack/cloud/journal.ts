/**
 * Durable state of the embedded data plane: an append-only file of JSON lines, written before a
 * call is answered (so what a client was told survives a `kill -9`), replayed at start and
 * compacted to the live state now and then. Without a file (tests that want a fresh cloud) it
 * keeps nothing.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import * as path from 'node:path';

/**
 * Replaces a small state file atomically (a temporary file, then a rename): a process killed
 * mid-write leaves the old contents or the new, never an empty or torn file that fails the next
 * start (a `kill -9` between writeFileSync's truncate and its write did exactly that).
 */
export function replaceFile(
  file: string,
  contents: string | Uint8Array,
  options: { mode?: number } = {},
): void {
  const temporary = `${file}.${process.pid}.writing`;
  writeFileSync(temporary, contents, options);
  renameSync(temporary, file);
}

export interface JournalOptions {
  /**
   * Appends are held until `flush()`, which the service calls once per call before it answers:
   * one write for a batch's ten messages or twenty-five items' stream records instead of one
   * each (a stream record's own write was a twentieth of the main thread under intake). Held
   * lines are also written at the next turn of the event loop, for appends made outside a call.
   */
  readonly deferred?: boolean;
}

export class Journal<E> {
  private lines = 0;
  /**
   * Kept open between appends: appendFileSync opened and closed the file for every line (a
   * third of the main thread's file time under a 10,000-job intake). A write on an open file
   * reaches the OS before the call is answered all the same.
   */
  private fd: number | undefined;
  private held: string[] = [];
  private flushScheduled = false;
  /** The last write failed partway: the file ends in part of a line. */
  private torn = false;

  constructor(
    private readonly file: string | undefined,
    private readonly options: JournalOptions = {},
  ) {
    if (file) mkdirSync(path.dirname(file), { recursive: true });
  }

  get durable(): boolean {
    return this.file !== undefined;
  }

  /**
   * The entries written so far. A torn line is dropped: the last one, when the process died
   * mid-write, or one a failed write left partway (`write`).
   */
  load(): E[] {
    if (!this.file || !existsSync(this.file)) return [];
    const entries: E[] = [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        entries.push(JSON.parse(line) as E);
      } catch {
        // torn: the rest of it was never written
      }
    }
    this.lines = entries.length;
    return entries;
  }

  append(entry: E): void {
    if (!this.file) return;
    this.appendJson(JSON.stringify(entry));
  }

  /** An entry already serialized (`JSON.stringify` of an `E`), as one line. */
  appendJson(json: string): void {
    if (!this.file) return;
    this.lines++;
    if (!this.options.deferred) {
      this.write(`${json}\n`);
      return;
    }
    this.held.push(json);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Writes the held lines (a deferred journal's; nothing otherwise), in the order appended. A
   * write that fails (a full disk) throws, and the lines stay held for the next flush: the call
   * being answered fails, and what other calls were told is not lost with it.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.held.length === 0) return;
    const lines = this.held;
    this.held = [];
    try {
      this.write(`${lines.join('\n')}\n`);
    } catch (error) {
      this.held = [...lines, ...this.held];
      throw error;
    }
  }

  /**
   * One write of whole lines. A short write (the OS may take part of a buffer) goes on from where
   * it stopped; a write that fails after part of its lines reached the file starts the retry on a
   * line of its own, so that the torn part is one unreadable line, skipped at load, rather than
   * the first half of the next entry.
   */
  private write(text: string): void {
    this.fd ??= openSync(this.file as string, 'a');
    const bytes = Buffer.from(`${this.torn ? '\n' : ''}${text}`);
    this.torn = false;
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(this.fd, bytes, written);
    } catch (error) {
      this.torn = written > 0;
      throw error;
    }
  }

  /** Lines written since the last compaction. */
  get length(): number {
    return this.lines;
  }

  /** Replaces the file with the given entries (the live state), atomically. */
  rewrite(entries: readonly E[]): void {
    if (!this.file) return;
    // Held lines are part of the live state being written.
    this.held = [];
    // The open file is the one being replaced: appends go to the new one.
    this.close();
    replaceFile(this.file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    this.lines = entries.length;
  }

  /** Closes the file; a later append opens it again. */
  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
