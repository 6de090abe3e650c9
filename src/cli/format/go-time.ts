// Go's time.Time.String() for the RFC 3339 UTC timestamps the API returns, as docker prints
// them with %s (e.g. `node inspect --pretty`'s "Joined at").

/** "2016-08-18T10:44:24.496525531Z" → "2016-08-18 10:44:24.496525531 +0000 UTC". */
export function goTimeString(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(ts);
  if (m) {
    const frac = (m[3] ?? '').replace(/0+$/, '');
    return `${m[1]} ${m[2]}${frac ? '.' + frac : ''} +0000 UTC`;
  }
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return goTimeString(d.toISOString());
}

/** Milliseconds since the epoch of an API timestamp (sub-millisecond digits ignored). */
export function parseApiTime(ts: string | undefined): number {
  if (!ts) return NaN;
  return Date.parse(ts);
}
