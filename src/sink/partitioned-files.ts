import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncDir } from '../util/atomic-file.js';
import { fsyncFile } from './batch-files.js';

/** Every file under `root`, as paths relative to it with '/' separators, sorted. */
export function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * Move a batch's Hive-partitioned files (`k=v/…/part-<batch>_<i>.<ext>`, as DuckDB's `COPY … PARTITION_BY` wrote
 * them under `staged`) into the same places under `table`: each file fsynced, renamed (atomic, and over the same
 * name when a batch is replayed), each touched directory fsynced once. A reader sees whole files or none.
 * Returns the moved files, relative to `table`.
 */
export function movePartitionedFiles(staged: string, table: string): string[] {
  const files = filesUnder(staged);
  const dirs = new Set<string>();
  for (const f of files) {
    const target = join(table, f);
    fsyncFile(join(staged, f));
    mkdirSync(dirname(target), { recursive: true });
    renameSync(join(staged, f), target);
    dirs.add(dirname(target));
  }
  // New partition directories must be durable in their parents too, up to the table directory.
  for (const d of [...dirs]) for (let p = dirname(d); p.length > table.length; p = dirname(p)) dirs.add(p);
  dirs.add(table);
  for (const d of dirs) fsyncDir(d);
  rmSync(staged, { recursive: true, force: true });
  return files;
}
