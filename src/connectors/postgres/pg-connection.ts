import { userError } from '../../errors.js';

/**
 * A PostgreSQL URL whose password never leaves this module in text: `masked` is what messages show
 * (`postgres://app:***@db:5432/test`), `scrub` removes the password from any text (a driver's error message).
 */
export interface PgTarget {
  /** The URL given to `pg`, with the password (from the URL or from `password_env`). */
  readonly connectionString: string;
  readonly masked: string;
  readonly scrub: (text: string) => string;
}

/**
 * The URL checked without ever echoing it (the option formatter prints an invalid value as given: the url option
 * is only checked for being non-empty there, and here with messages that show it masked).
 */
export function pgTarget(sink: string, url: string, passwordEnv: string | undefined, env: NodeJS.ProcessEnv): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw userError(
      `sink '${sink}': url is not a URL (not shown: it may hold a password)`,
      "write url = 'postgres://user@host:5432/database' (percent-encode special characters of a password, or use password_env)",
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw userError(`sink '${sink}': url ${maskUrl(url)} is not a postgres:// URL`, "write url = 'postgres://user@host:5432/database'");
  }
  const secrets: string[] = [];
  if (u.password !== '') secrets.push(u.password, decodeURIComponent(u.password));
  if (passwordEnv !== undefined) {
    const password = env[passwordEnv];
    if (password === undefined) {
      throw userError(`sink '${sink}': environment variable ${passwordEnv} (password_env) is not set`, `export ${passwordEnv}=… before starting the job`);
    }
    if (password !== '') secrets.push(password, encodeURIComponent(password));
    u.password = encodeURIComponent(password);
  }
  const connectionString = u.toString();
  const longestFirst = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  const scrub = (text: string): string => longestFirst.reduce((t, s) => t.split(s).join('***'), text);
  return { connectionString, masked: maskUrl(connectionString), scrub };
}

/** The URL with its password shown as `***`; text that does not parse as a URL is not shown at all. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<url not shown>';
  }
}
