import type { StateFingerprint, WindowFingerprint } from './state-fingerprint.js';

/** "1 minute", "90 seconds", "250 ms": the unit a user would write in the query. */
export function spokenDuration(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (ms % 86_400_000 === 0) return unit(ms / 86_400_000, 'day');
  if (ms % 3_600_000 === 0) return unit(ms / 3_600_000, 'hour');
  if (ms % 60_000 === 0) return unit(ms / 60_000, 'minute');
  if (ms % 1000 === 0) return unit(ms / 1000, 'second');
  return `${ms} ms`;
}

const list = (xs: readonly string[]) => (xs.length === 0 ? '(none)' : xs.join(', '));
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Added and removed items, in words ("new aggregate sum(n)", "aggregate count(*) removed"). */
function setChanges(what: string, before: readonly string[], after: readonly string[]): string[] {
  const added = after.filter((x) => !before.includes(x)).map((x) => `new ${what} ${x}`);
  const removed = before.filter((x) => !after.includes(x)).map((x) => `${what} ${x} removed`);
  if (added.length > 0 || removed.length > 0) return [...added, ...removed];
  return same(before, after) ? [] : [`${what}s reordered: ${list(before)} → ${list(after)}`];
}

function windowChanges(i: number, a: WindowFingerprint | undefined, b: WindowFingerprint | undefined, many: boolean): string[] {
  const name = many ? `window ${i + 1}` : 'window';
  if (!a) return [`new ${b!.kind} window over ${b!.source}`];
  if (!b) return [`${a.kind} window over ${a.source} removed`];
  if (a.kind !== b.kind || a.source !== b.source) return [`${name} ${a.kind}(${a.source}) → ${b.kind}(${b.source})`];
  const out: string[] = [];
  const sizeWord = a.kind === 'SESSION' ? 'gap' : 'size';
  if (a.sizeMs !== b.sizeMs) out.push(`${name} ${sizeWord} ${spokenDuration(a.sizeMs)} → ${spokenDuration(b.sizeMs)}`);
  if (a.kind === 'HOP' && a.slideMs !== b.slideMs) out.push(`${name} slide ${spokenDuration(a.slideMs)} → ${spokenDuration(b.slideMs)}`);
  if (a.time !== b.time) out.push(`${name} time column ${a.time} → ${b.time}`);
  if (!same(a.keys, b.keys)) out.push(`${name} session keys ${list(a.keys)} → ${list(b.keys)}`);
  return out;
}

function columnChanges(stream: string, before: readonly string[] | null | undefined, after: readonly string[] | null | undefined): string[] {
  if (!before || !after) return []; // a stream without a known schema has never fed the state
  const name = (c: string) => c.split(' ')[0]!;
  const out: string[] = [];
  for (const c of after) {
    const old = before.find((o) => name(o) === name(c));
    if (!old) out.push(`reads new column ${stream}.${name(c)}`);
    else if (old !== c) out.push(`column ${stream}.${name(c)} ${old.slice(name(c).length + 1)} → ${c.slice(name(c).length + 1)}`);
  }
  for (const o of before) if (!after.some((c) => name(c) === name(o))) out.push(`no longer reads column ${stream}.${name(o)}`);
  return out;
}

/**
 * What changed between the fingerprint stored with an operator's state and the one of the job as it is now, in
 * words; empty when the state still means what the query needs.
 */
export function describeChanges(stored: StateFingerprint, current: StateFingerprint): string[] {
  const out: string[] = [];
  if (stored.mode !== current.mode) out.push(`output mode ${stored.mode} → ${current.mode}`);
  if (stored.operator !== current.operator && stored.mode === current.mode) out.push(`operator ${stored.operator} → ${current.operator}`);
  if (!same(stored.streams, current.streams)) out.push(`streams ${list(stored.streams)} → ${list(current.streams)}`);
  const windows = Math.max(stored.windows.length, current.windows.length);
  for (let i = 0; i < windows; i++) out.push(...windowChanges(i, stored.windows[i], current.windows[i], windows > 1));
  if (!same(stored.keys, current.keys)) out.push(`key columns ${list(stored.keys)} → ${list(current.keys)}`);
  if (!same(stored.groupBy, current.groupBy)) out.push(`GROUP BY ${list(stored.groupBy)} → ${list(current.groupBy)}`);
  out.push(...setChanges('aggregate', stored.aggregates, current.aggregates));
  // An output that is an aggregate (with or without its alias) was reported as one already.
  const expression = (x: string) => x.replace(/ AS (?:"(?:[^"]|"")*"|\S+)$/i, '');
  const isAggregate = (x: string) => current.aggregates.includes(x) || stored.aggregates.includes(x);
  const aggregateOnly = (x: string) => isAggregate(x) || isAggregate(expression(x));
  out.push(
    ...setChanges(
      'output column',
      stored.outputs.filter((x) => !aggregateOnly(x)),
      current.outputs.filter((x) => !aggregateOnly(x)),
    ),
  );
  if (stored.filter !== current.filter) out.push(`WHERE ${stored.filter ?? '(none)'} → ${current.filter ?? '(none)'}`);
  for (const stream of current.streams) out.push(...columnChanges(stream, stored.sourceColumns[stream], current.sourceColumns[stream]));
  if (out.length === 0 && stored.queryHash !== current.queryHash) out.push('the query changed (outside its SELECT list, GROUP BY, WHERE and windows)');
  return out;
}
