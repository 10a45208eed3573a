import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    out.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return out;
}

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, ext) : ext.test(name) ? [path] : [];
  });
}

const code = ['src', 'test', 'bench'].flatMap((d) => filesUnder(resolve(d), /\.(ts|cjs)$/)).concat(resolve('.dependency-cruiser.cjs'));
const markdown = ['README.md', ...filesUnder(resolve('docs'), /\.md$/)].map((f) => resolve(f));

describe('docs', () => {
  it('every docs/…#anchor the code cites is a heading of that file', () => {
    const missing: string[] = [];
    let cited = 0;
    for (const file of code) {
      for (const m of readFileSync(file, 'utf8').matchAll(/docs\/([\w/.-]+\.md)#([\w-]+)/g)) {
        cited++;
        const doc = resolve('docs', m[1]!);
        if (!existsSync(doc) || !anchorsOf(readFileSync(doc, 'utf8')).has(m[2]!)) missing.push(`${relative('.', file)}: docs/${m[1]}#${m[2]}`);
      }
    }
    expect(missing).toEqual([]);
    expect(cited).toBeGreaterThan(10);
  });

  it('no code cites the design document that is not in the repository', () => {
    const stale = code.filter((f) => new RegExp('DESIGN' + ' §').test(readFileSync(f, 'utf8'))).map((f) => relative('.', f));
    expect(stale).toEqual([]);
  });

  it('every relative link of the README and docs/ points at a file that exists', () => {
    const broken: string[] = [];
    for (const file of markdown) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(resolve(dirname(file), target))) broken.push(`${relative('.', file)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README stays a newcomer’s document', () => {
    expect(readFileSync('README.md', 'utf8').split('\n').length).toBeLessThanOrEqual(350);
  });
});
