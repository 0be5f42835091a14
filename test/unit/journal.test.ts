import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../localstack/cloud/journal.ts';

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
});
