/** A statement of a job file with the line it starts on (for error messages). */
export interface SqlStatement {
  readonly text: string;
  readonly line: number;
}

/**
 * Split SQL text on `;`, honouring '…' strings, "…" identifiers, -- and /* *\/ comments.
 * Comments are replaced by spaces so that later regexes see plain SQL; line numbers are kept.
 */
export function splitStatements(sql: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  let current = '';
  let line = 1;
  let startLine = 1;
  let i = 0;
  const push = () => {
    const text = current.trim();
    if (text.length > 0) out.push({ text, line: startLine + leadingNewlines(current) });
    current = '';
    startLine = line;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      const end = findClosingQuote(sql, i, c);
      const chunk = sql.slice(i, end + 1);
      line += countNewlines(chunk);
      current += chunk;
      i = end + 1;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      current += ' ';
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      const n = countNewlines(sql.slice(i, stop));
      current += ' ' + '\n'.repeat(n);
      line += n;
      i = stop;
    } else if (c === ';') {
      push();
      i++;
    } else {
      if (c === '\n') line++;
      current += c;
      i++;
    }
  }
  push();
  return out;
}

function findClosingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i;
    }
    i++;
  }
  throw new Error(`unterminated ${quote === "'" ? 'string' : 'quoted identifier'} starting at character ${start + 1}`);
}

function countNewlines(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === '\n') n++;
  return n;
}

function leadingNewlines(s: string): number {
  const m = /^\s*/.exec(s);
  return m ? countNewlines(m[0]) : 0;
}
