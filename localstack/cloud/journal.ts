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

/**
 * An append-only file of whole lines, kept open between appends (appendFileSync opened and closed
 * the file for every line: a third of the main thread's file time under a 10,000-job intake; a
 * write on an open file reaches the OS before the call is answered all the same). A short write
 * goes on where it stopped. A write that fails partway (a full disk) leaves part of a line at
 * the end: the next append starts on a line of its own, so that the torn part is one unreadable
 * line, skipped at load, rather than the first half of the next entry.
 */
export class LineFile {
  private fd: number | undefined;
  /** The file ends in part of a line. */
  private torn = false;

  constructor(private readonly file: string) {}

  /** What load found: a file that does not end a line was torn by a process that died mid-write. */
  endsMidLine(torn: boolean): void {
    this.torn = torn;
  }

  /**
   * Appends `text` (whole lines, each ending in "\n"). Answers how many of its bytes reached the
   * file, and the error that stopped the rest; it never throws.
   */
  append(text: string): { written: number; error?: unknown } {
    const prefix = this.torn ? 1 : 0;
    const bytes = Buffer.from(this.torn ? `\n${text}` : text);
    let written = 0;
    let error: unknown;
    try {
      this.fd ??= openSync(this.file, 'a');
      while (written < bytes.length) written += writeSync(this.fd, bytes, written);
    } catch (caught) {
      error = caught;
    }
    // Where the file ends now: mid-line unless the last byte written ended one.
    if (written > 0) this.torn = bytes[written - 1] !== 0x0a;
    return { written: Math.max(0, written - prefix), ...(error === undefined ? {} : { error }) };
  }

  /** Closes the file; the next append opens it again. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Replaces the file's contents atomically (whole lines); the next append goes to the new file. */
  replace(contents: string): void {
    // The open file is the one being replaced.
    this.close();
    replaceFile(this.file, contents);
    this.torn = false;
  }
}

/**
 * Runs a journal's `flush` at the next turn of the event loop, for writes made outside a call, if
 * it is still due then (a call's own flush before its answer usually comes first). A write that
 * fails is told, not thrown: `flush` keeps its lines for the next write.
 */
export function flushSoon(file: string, due: () => boolean, flush: () => void): void {
  setImmediate(() => {
    if (!due()) return;
    try {
      flush();
    } catch (error) {
      console.error(`${file}: ${(error as Error).message}; kept for the next write`);
    }
  });
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
  private readonly out: LineFile | undefined;
  private held: string[] = [];
  private flushScheduled = false;

  constructor(
    private readonly file: string | undefined,
    private readonly options: JournalOptions = {},
  ) {
    if (file) mkdirSync(path.dirname(file), { recursive: true });
    this.out = file ? new LineFile(file) : undefined;
  }

  get durable(): boolean {
    return this.file !== undefined;
  }

  /**
   * The entries written so far. A torn line is dropped: the last one, when the process died
   * mid-write, or one a failed write left partway (`LineFile`).
   */
  load(): E[] {
    if (!this.file || !existsSync(this.file)) return [];
    const text = readFileSync(this.file, 'utf8');
    const entries: E[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        entries.push(JSON.parse(line) as E);
      } catch {
        // torn: the rest of it was never written
      }
    }
    this.out?.endsMidLine(text.length > 0 && !text.endsWith('\n'));
    this.lines = entries.length;
    return entries;
  }

  append(entry: E): void {
    if (!this.file) return;
    this.appendJson(JSON.stringify(entry));
  }

  /** An entry already serialized (`JSON.stringify` of an `E`), as one line. */
  appendJson(json: string): void {
    if (!this.out) return;
    this.lines++;
    if (!this.options.deferred) {
      const { error } = this.out.append(`${json}\n`);
      if (error !== undefined) throw error;
      return;
    }
    this.held.push(json);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      flushSoon(
        this.file as string,
        () => this.flushScheduled,
        () => this.flush(),
      );
    }
  }

  /**
   * Writes the held lines (a deferred journal's; nothing otherwise), in the order appended. A
   * write that fails (a full disk) throws, and the lines it did not write whole stay held for the
   * next flush: the call being answered fails, and what other calls were told is not lost with
   * it. Lines that reached the file whole are not written again (a replay would apply them twice).
   */
  flush(): void {
    this.flushScheduled = false;
    if (!this.out || this.held.length === 0) return;
    const lines = this.held;
    this.held = [];
    const { written, error } = this.out.append(`${lines.join('\n')}\n`);
    if (error === undefined) return;
    let whole = 0;
    for (let left = written; whole < lines.length; whole++) {
      const size = Buffer.byteLength(lines[whole] as string) + 1;
      if (left < size) break;
      left -= size;
    }
    this.held = [...lines.slice(whole), ...this.held];
    throw error;
  }

  /** Lines written since the last compaction. */
  get length(): number {
    return this.lines;
  }

  /**
   * Replaces the file with the given entries (the live state), atomically. Held lines are part of
   * that state: dropped once it is written, kept should the write fail.
   */
  rewrite(entries: readonly E[]): void {
    if (!this.out) return;
    this.out.replace(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    this.held = [];
    this.lines = entries.length;
  }

  /** Closes the file, after writing what is held; a later append opens it again. */
  close(): void {
    try {
      this.flush();
    } finally {
      this.out?.close();
    }
  }
}
