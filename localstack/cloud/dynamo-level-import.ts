/**
 * Moves a data directory's tables from the LevelDB store the local cloud kept them in before
 * (dynalite's own, `<data>/dynamodb`) into the in-memory store's journal, once: a factory
 * restarted after the upgrade keeps its jobs, orders and keys.
 *
 * Only table descriptions and items are taken; each index is rebuilt from its table's items
 * with dynalite's own index rules, so an index left behind by an unclean stop (dynalite wrote
 * an item and its index entries as separate writes) comes back consistent. The old directory is
 * renamed `dynamodb.imported`, not deleted.
 */
import { existsSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DynamoTables } from './dynamo-tables.ts';

const require = createRequire(import.meta.url);

interface TableDescription {
  readonly TableName: string;
  readonly GlobalSecondaryIndexes?: readonly unknown[];
  readonly LocalSecondaryIndexes?: readonly unknown[];
}
interface IndexActions {
  readonly puts: readonly { index: string; key: string; item: unknown }[];
}
interface DynaliteDb {
  getIndexActions(
    indexes: readonly unknown[],
    before: unknown,
    item: unknown,
    table: TableDescription,
  ): IndexActions;
}
interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  iterator(): AsyncIterable<[string, unknown]>;
}

/** Imports `directory` if it holds a LevelDB store; what was moved, or undefined. */
export async function importLevelTables(
  directory: string,
  tables: DynamoTables,
): Promise<{ tables: number; items: number } | undefined> {
  if (!existsSync(directory)) return undefined;
  const { ClassicLevel } = require('classic-level') as {
    ClassicLevel: new (location: string, options: { valueEncoding: 'json' }) => LevelDb;
  };
  const level = new ClassicLevel(directory, { valueEncoding: 'json' });
  await level.open();
  const descriptions: TableDescription[] = [];
  const items = new Map<string, [string, unknown][]>();
  try {
    for await (const [key, value] of level.iterator()) {
      // dynalite's keys: `table~<name>` and `item-<table>~<key>`; indexes are rebuilt below.
      const separator = key.indexOf('~');
      const sub = key.slice(0, separator);
      if (sub === 'table') descriptions.push(value as TableDescription);
      else if (sub.startsWith('item-')) {
        const table = sub.slice('item-'.length);
        const kept = items.get(table) ?? [];
        if (kept.length === 0) items.set(table, kept);
        kept.push([key.slice(separator + 1), value]);
      }
    }
  } finally {
    await level.close();
  }
  const db = require('dynalite/db/index.js') as DynaliteDb;
  const { store } = tables;
  let moved = 0;
  for (const table of descriptions) {
    store.tableDb.put(table.TableName, table);
    const itemDb = store.getItemDb(table.TableName);
    for (const [key, item] of items.get(table.TableName) ?? []) {
      itemDb.put(key, item);
      moved++;
      for (const [type, indexes] of [
        ['global', table.GlobalSecondaryIndexes ?? []],
        ['local', table.LocalSecondaryIndexes ?? []],
      ] as const) {
        for (const put of db.getIndexActions(indexes, undefined, item, table).puts)
          store.getIndexDb(type, table.TableName, put.index).put(put.key, put.item);
      }
    }
  }
  tables.flush();
  renameSync(directory, `${directory}.imported`);
  return { tables: descriptions.length, items: moved };
}
