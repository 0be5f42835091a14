/**
 * Secondary indexes that agree with their tables after a crash.
 *
 * dynalite writes an item and its index entries as separate LevelDB writes (the index deletes,
 * the index puts, then the item). A kill -9 between them leaves an index that disagrees with
 * its table for good: found by the chaos suite, a job whose row said RUNNING while its
 * queue-status index said FAILED and its lease index had no entry, so no recovery could see it.
 * On AWS a GSI always converges. So after an unclean stop the local cloud rebuilds every
 * secondary index from its table before it serves; a clean stop leaves a marker that skips it.
 *
 * This reaches into dynalite's store (pinned at 4.0.0): one LevelDB whose keys are prefixed
 * `table~<name>`, `item-<table>~<key>` and `index-<global|local>~<table>~<index>~<key>`.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface LevelLike {
  iterator(options: {
    gte: string;
    lt: string;
    keys?: boolean;
    values?: boolean;
  }): AsyncIterable<[string, unknown]>;
  batch(operations: readonly { type: 'put' | 'del'; key: string; value?: unknown }[]): Promise<void>;
}

interface TableDescription {
  readonly TableName: string;
  readonly GlobalSecondaryIndexes?: readonly { IndexName: string }[];
  readonly LocalSecondaryIndexes?: readonly { IndexName: string }[];
}

interface DynaliteDb {
  create(options: unknown): { db: LevelLike };
  getIndexActions(
    indexes: readonly unknown[],
    existingItem: unknown,
    item: unknown,
    table: TableDescription,
  ): { puts: readonly { index: string; key: string; item: unknown }[] };
}

const require = createRequire(import.meta.url);

/**
 * Hands back dynalite's store once `dynalite()` has created it. Call before `dynalite()`: the
 * store is made inside it and is not exposed otherwise.
 */
export function captureDynaliteStore(): () => { db: LevelLike } | undefined {
  const dynaliteDb = require('dynalite/db/index.js') as DynaliteDb;
  const create = dynaliteDb.create;
  let store: { db: LevelLike } | undefined;
  dynaliteDb.create = (options) => {
    store = create(options);
    dynaliteDb.create = create;
    return store;
  };
  return () => store;
}

/** Rebuilds every secondary index of every table from the table's items. Returns entries written. */
export async function rebuildIndexes(db: LevelLike): Promise<{ tables: number; entries: number }> {
  const dynaliteDb = require('dynalite/db/index.js') as DynaliteDb;
  const range = (prefix: string) => ({ gte: prefix, lt: `${prefix}\uffff` });
  const tables: TableDescription[] = [];
  for await (const [, table] of db.iterator(range('table~'))) tables.push(table as TableDescription);
  let entries = 0;
  let repaired = 0;
  for (const table of tables) {
    const kinds = [
      ['global', table.GlobalSecondaryIndexes ?? []],
      ['local', table.LocalSecondaryIndexes ?? []],
    ] as const;
    if (kinds.every(([, indexes]) => indexes.length === 0)) continue;
    repaired++;
    const stale: { type: 'del'; key: string }[] = [];
    for (const [kind, indexes] of kinds) {
      for (const { IndexName } of indexes) {
        for await (const [key] of db.iterator({
          ...range(`index-${kind}~${table.TableName}~${IndexName}~`),
          values: false,
        }))
          stale.push({ type: 'del', key });
      }
    }
    await writeInChunks(db, stale);
    const fresh: { type: 'put'; key: string; value: unknown }[] = [];
    for await (const [, item] of db.iterator(range(`item-${table.TableName}~`))) {
      for (const [kind, indexes] of kinds) {
        if (indexes.length === 0) continue;
        for (const put of dynaliteDb.getIndexActions(indexes, undefined, item, table).puts)
          fresh.push({
            type: 'put',
            key: `index-${kind}~${table.TableName}~${put.index}~${put.key}`,
            value: put.item,
          });
      }
    }
    await writeInChunks(db, fresh);
    entries += fresh.length;
  }
  return { tables: repaired, entries };
}

async function writeInChunks(
  db: LevelLike,
  operations: readonly { type: 'put' | 'del'; key: string; value?: unknown }[],
): Promise<void> {
  for (let i = 0; i < operations.length; i += 1000) await db.batch(operations.slice(i, i + 1000));
}

/**
 * The clean-stop marker next to the LevelDB directory: present only between a clean stop and
 * the next start, so its absence at start means the last run did not stop cleanly.
 */
export const cleanStop = (marker: string) => ({
  /** Whether the last run stopped cleanly; removes the marker (this run has not stopped yet). */
  take(): boolean {
    const clean = existsSync(marker);
    rmSync(marker, { force: true });
    return clean;
  },
  leave(): void {
    writeFileSync(marker, `${new Date().toISOString()}\n`);
  },
});
