import type { SourceTimeInfo } from '../planning-types.js';
import type { StreamRef } from '../stream-refs.js';

/** The sources the references read, each once, named as declared. */
export function streamsOf(refs: readonly StreamRef[], sources: readonly SourceTimeInfo[]): string[] {
  return [...new Set(refs.map((r) => sources.find((s) => s.name.toLowerCase() === r.source.toLowerCase())!.name))];
}
