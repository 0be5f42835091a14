import { mkdtempSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Journal } from '../../localstack/cloud/journal.ts';

// The journal's writes, as the OS takes them unless a test makes one fail or fall short.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, writeSync: vi.fn(fs.writeSync), writeFileSync: vi.fn(fs.writeFileSync) };
});
const actual = await vi.importActual<typeof import('node:fs')>('node:fs');
const actualWriteSync = actual.writeSync;

afterEach(() => {
  vi.mocked(writeSync).mockReset().mockImplementation(actualWriteSync);
  vi.mocked(writeFileSync).mockReset().mockImplementation(actual.writeFileSync);
  vi.restoreAllMocks();
});

const diskFull = () => {
  throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
};
const newFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'journal-')), 'state.jsonl');

/** A write the OS takes only the first `limit` bytes of, whatever form it was handed. */
const shortWrite =
  (limit: number) =>
  (fd: number, data: unknown, offset?: unknown): number =>
    typeof data === 'string'
      ? actualWriteSync(fd, data.slice(0, limit))
      : actualWriteSync(fd, data as NodeJS.ArrayBufferView, Number(offset ?? 0), limit);

describe('the local cloud journal', () => {
  it('appends to its open file, and after a compaction to the file that replaced it', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'journal-')), 'state.jsonl');
    const journal = new Journal<{ n: number }>(file);
    journal.append({ n: 1 });
    journal.append({ n: 2 });
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }, { n: 2 }]);
    journal.rewrite([{ n: 2 }]);
    journal.append({ n: 3 });
    expect(journal.length).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('{"n":2}\n{"n":3}\n');
    journal.close();
    // Closed, it opens the file again at the next append.
    journal.append({ n: 4 });
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 2 }, { n: 3 }, { n: 4 }]);
    journal.close();
  });

  it('deferred, holds its lines until the flush that precedes an answer, then writes them in order', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'journal-')), 'state.jsonl');
    const journal = new Journal<{ n: number }>(file, { deferred: true });
    journal.append({ n: 1 });
    journal.appendJson('{"n":2}');
    expect(journal.length).toBe(2);
    expect(new Journal<{ n: number }>(file).load()).toEqual([]);
    journal.flush();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    // Appended outside a call: written at the next turn of the event loop all the same.
    journal.append({ n: 3 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    // A compaction writes the live state, held lines included: they are not written twice.
    journal.append({ n: 4 });
    journal.rewrite([{ n: 3 }, { n: 4 }]);
    journal.flush();
    journal.close();
    expect(readFileSync(file, 'utf8')).toBe('{"n":3}\n{"n":4}\n');
  });

  it('keeps nothing without a file', () => {
    const journal = new Journal<{ n: number }>(undefined);
    journal.append({ n: 1 });
    expect(journal.load()).toEqual([]);
    expect(journal.durable).toBe(false);
  });

  it('keeps the held lines when a write fails, and writes them whole at the next flush', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'journal-')), 'state.jsonl');
    const journal = new Journal<{ n: number }>(file, { deferred: true });
    journal.append({ n: 1 });
    journal.flush();
    // A full disk: the OS takes five bytes of the next lines, then refuses the rest.
    vi.mocked(writeSync)
      .mockImplementationOnce(shortWrite(5))
      .mockImplementationOnce(() => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      });
    journal.append({ n: 2 });
    journal.append({ n: 3 });
    expect(() => journal.flush()).toThrow(/ENOSPC/);
    // Appended meanwhile: written after the lines that were held first.
    journal.append({ n: 4 });
    journal.flush();
    journal.close();
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it('goes on where a short write stopped', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'journal-')), 'state.jsonl');
    const journal = new Journal<{ n: number }>(file);
    vi.mocked(writeSync).mockImplementationOnce(shortWrite(3));
    journal.append({ n: 10 });
    journal.append({ n: 11 });
    journal.close();
    expect(readFileSync(file, 'utf8')).toBe('{"n":10}\n{"n":11}\n');
  });

  it('does not write again the lines that reached the file whole before a failed write', () => {
    const file = newFile();
    const journal = new Journal<{ n: number }>(file, { deferred: true });
    journal.append({ n: 1 });
    journal.flush();
    // The OS takes one whole line and part of the next, then refuses the rest.
    vi.mocked(writeSync)
      .mockImplementationOnce(shortWrite('{"n":2}\n{"n'.length))
      .mockImplementationOnce(diskFull);
    journal.append({ n: 2 });
    journal.append({ n: 3 });
    expect(() => journal.flush()).toThrow(/ENOSPC/);
    journal.flush();
    journal.close();
    // A replay applies each entry once.
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n\n{"n":3}\n');
  });

  it('still starts a line of its own after a retry that wrote nothing', () => {
    const file = newFile();
    const journal = new Journal<{ n: number }>(file, { deferred: true });
    // Part of the first line, then two refusals, then the disk has room again.
    vi.mocked(writeSync)
      .mockImplementationOnce(shortWrite(3))
      .mockImplementationOnce(diskFull)
      .mockImplementationOnce(diskFull);
    journal.append({ n: 1 });
    expect(() => journal.flush()).toThrow(/ENOSPC/);
    expect(() => journal.flush()).toThrow(/ENOSPC/);
    journal.flush();
    journal.close();
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }]);
  });

  it('starts a line of its own after a torn line that a killed process left', () => {
    const file = newFile();
    actual.writeFileSync(file, '{"n":1}\n{"n":');
    const journal = new Journal<{ n: number }>(file);
    expect(journal.load()).toEqual([{ n: 1 }]);
    journal.append({ n: 2 });
    journal.close();
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('keeps writing after a write outside a call fails, the lines kept for the next flush', async () => {
    const file = newFile();
    const journal = new Journal<{ n: number }>(file, { deferred: true });
    const told = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.mocked(writeSync).mockImplementationOnce(diskFull);
    // Appended outside a call: written at the next turn of the event loop, which fails.
    journal.append({ n: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(told).toHaveBeenCalledWith(expect.stringContaining('ENOSPC'));
    journal.append({ n: 2 });
    journal.flush();
    journal.close();
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('keeps the held lines when a compaction cannot be written', () => {
    const file = newFile();
    const journal = new Journal<{ n: number }>(file, { deferred: true });
    journal.append({ n: 1 });
    journal.flush();
    journal.append({ n: 2 });
    vi.mocked(writeFileSync).mockImplementationOnce(diskFull);
    expect(() => journal.rewrite([{ n: 1 }, { n: 2 }])).toThrow(/ENOSPC/);
    journal.flush();
    journal.close();
    expect(new Journal<{ n: number }>(file).load()).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
