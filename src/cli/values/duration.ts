// Go's time.Duration: ParseDuration (flags such as --update-delay 10s, --cert-expiry 2160h)
// and String() (how `service inspect --pretty` prints them). Values are int64 nanoseconds.
import { goQuote } from './go-strconv';

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const MAX_INT64 = 2 ** 63 - 1;

/** time.ParseDuration, with Go's error texts. */
export function parseGoDuration(input: string): number {
  let s = input;
  const invalid = (): Error => new Error(`time: invalid duration ${goQuote(input)}`);
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) throw invalid();
    const intPart = /^[0-9]*/.exec(s)![0];
    s = s.slice(intPart.length);
    let fracPart = '';
    if (s[0] === '.') {
      s = s.slice(1);
      fracPart = /^[0-9]*/.exec(s)![0];
      s = s.slice(fracPart.length);
    }
    if (intPart === '' && fracPart === '') throw invalid();
    const unit = /^[^0-9.]*/.exec(s)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${goQuote(input)}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(input)}`);
    s = s.slice(unit.length);
    const value = Number(intPart || '0') * scale + (fracPart ? Math.floor(Number(`0.${fracPart}`) * scale) : 0);
    total += value;
    if (total > MAX_INT64) throw invalid();
  }
  return neg ? -total : total;
}

/** Digits of u / 10^prec with the fraction's trailing zeros dropped, as Go's fmtFrac/fmtInt. */
function withFraction(u: number, prec: number): string {
  const unit = 10 ** prec;
  const whole = Math.floor(u / unit);
  const frac = String(u % unit)
    .padStart(prec, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

/** time.Duration.String(): "0s", "1.5s", "1m30s", "2160h0m0s", "500ms", "1µs". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  const u = Math.abs(Math.trunc(ns));
  if (u < 1e9) {
    if (u < 1e3) return `${sign}${u}ns`;
    if (u < 1e6) return `${sign}${withFraction(u, 3)}µs`;
    return `${sign}${withFraction(u, 6)}ms`;
  }
  const totalSeconds = Math.floor(u / 1e9);
  let out = `${withFraction((totalSeconds % 60) * 1e9 + (u % 1e9), 9)}s`;
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes > 0) {
    out = `${minutes % 60}m${out}`;
    const hours = Math.floor(minutes / 60);
    if (hours > 0) out = `${hours}h${out}`;
  }
  return sign + out;
}

/** docker's opts.DurationOpt / PositiveDurationOpt: a duration that must not be negative. */
export function parseNonNegativeDuration(s: string): number {
  const ns = parseGoDuration(s);
  if (ns < 0) throw new Error('duration cannot be negative');
  return ns;
}
