import type { z } from 'zod';
import { userError } from '../errors.js';
import { closestMatch } from '../util/suggest.js';

/** What the formatter needs to know of a connector's options: the schema and what each required one looks like. */
export interface OptionsSpec<S extends z.ZodType> {
  /** Options besides `connector`; unknown keys are refused. */
  readonly options: S;
  /** What each required option looks like, for "needs path = '<dir>'". */
  readonly hints: Readonly<Record<string, string>>;
}

/**
 * A connector's `WITH (…)` options (without `connector`) checked against its schema. Every problem is reported at
 * once, each in a form that says how to fix it: `source 'ev': connector 'log' does not take 'pth' (it takes
 * connector, path, …) — did you mean 'path'?`, `needs path = '<log directory>'`, `max_rows = '0' must be a
 * positive whole number`. The one formatter of option errors for sources and sinks alike.
 */
export function parseConnectorOptions<S extends z.ZodType>(
  kind: 'source' | 'sink',
  name: string,
  connector: string,
  spec: OptionsSpec<S>,
  given: Readonly<Record<string, string>>,
): z.output<S> {
  const parsed = spec.options.safeParse(given);
  if (parsed.success) return parsed.data;
  const accepted = acceptedOptions(spec.options);
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys') {
      const suggestions = issue.keys.map((k) => [k, closestMatch(k, accepted)] as const).filter(([, s]) => s !== undefined);
      const hint =
        suggestions.length > 0 ? ` — did you mean ${suggestions.map(([k, s]) => (issue.keys.length > 1 ? `'${s}' for '${k}'` : `'${s}'`)).join(', ')}?` : '';
      return `does not take ${issue.keys.map((k) => `'${k}'`).join(', ')} (it takes ${accepted.join(', ')})${hint}`;
    }
    const value = given[key];
    if (value === undefined) return `needs ${key} = ${spec.hints[key] ?? `'<${key}>'`}`;
    return `${key} = '${value}' ${issue.message}`;
  });
  throw userError(`${kind} '${name}': connector '${connector}' ${problems.join('; ')}`, `fix the WITH (…) options of ${kind} '${name}'`);
}

/** The option names a connector takes, `connector` first (for errors, and for `duckstream connectors`). */
export function acceptedOptions(options: z.ZodType): string[] {
  const shape = (options as unknown as { shape?: Record<string, unknown> }).shape;
  return ['connector', ...Object.keys(shape ?? {})];
}
