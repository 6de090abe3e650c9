/** Go's zero time.Time, which the API writes for an unset timestamp. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * RFC 3339 in UTC with the fraction trimmed of trailing zeros, as Go's time.Time marshals:
 * 2016-08-18T10:44:24.496Z rather than JavaScript's fixed three digits.
 */
export function goTime(d: Date = new Date()): string {
  const iso = d.toISOString(); // 2016-08-18T10:44:24.496Z
  const [whole, frac] = iso.slice(0, -1).split('.');
  const trimmed = (frac ?? '').replace(/0+$/, '');
  return trimmed ? `${whole}.${trimmed}Z` : `${whole}Z`;
}

export const NS_PER_MS = 1_000_000;
export const NS_PER_SECOND = 1_000_000_000;

export function nsToMs(ns: number | undefined, fallbackMs: number): number {
  return ns === undefined || ns === null ? fallbackMs : Math.floor(ns / NS_PER_MS);
}

/** Go's time.Duration String() for whole-second values, used in error texts such as "1h0m0s". */
export function goDuration(ns: number): string {
  let s = Math.floor(ns / NS_PER_SECOND);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
