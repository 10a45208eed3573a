import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Every file under `root`, as paths relative to it with '/' separators, sorted (a partitioned batch's files). */
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
