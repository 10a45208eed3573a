import { BOOLEAN, DuckDBScalarFunction, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import type { Engine } from '../sql/engine.js';

/** JSON text of a JS value: bigint as a number when it fits (DuckDB reads it back by the declared type). */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v));
}

/**
 * Register a JavaScript function as a DuckDB scalar function over JSON text (the slow path of the DStream API):
 * every argument arrives as the parsed JSON of a `to_json(…)` value (NULL as undefined); the result goes back
 * as JSON text (VARCHAR, NULL for undefined/null) or as a BOOLEAN. DuckDB calls it on the JS thread, chunk by
 * chunk, from inside the statement that uses it, so it works inside the state transaction like any SQL.
 */
export async function registerJsonFunction(
  engine: Engine,
  name: string,
  arity: number,
  fn: (...args: unknown[]) => unknown,
  returns: 'json' | 'boolean' = 'json',
): Promise<void> {
  const returnType: DuckDBType = returns === 'boolean' ? BOOLEAN : VARCHAR;
  const fnc = DuckDBScalarFunction.create({
    name,
    returnType,
    parameterTypes: Array.from({ length: arity }, () => VARCHAR),
    volatile: true,
    specialHandling: true,
    mainFunction: (info, input, output) => {
      const vectors = Array.from({ length: arity }, (_, i) => input.getColumnVector(i));
      try {
        for (let row = 0; row < input.rowCount; row++) {
          const args = vectors.map((v) => {
            const item = v.getItem(row);
            return item === null || item === undefined ? undefined : (JSON.parse(String(item)) as unknown);
          });
          const result = fn(...args);
          if (returns === 'boolean') output.setItem(row, Boolean(result));
          else output.setItem(row, result === undefined || result === null ? null : toJsonText(result));
        }
        output.flush();
      } catch (err) {
        info.setError(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  });
  await engine.exclusive(async (c) => {
    c.registerScalarFunction(fnc);
  });
}
