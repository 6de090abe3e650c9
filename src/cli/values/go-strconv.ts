// Go's strconv parsers with their error texts, which pflag and docker's option types show in
// `invalid argument "x" for "--flag" flag: <error>` messages.

/** Go's strconv.Quote for the ASCII texts flags carry (JSON's escaping agrees there). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

const INT_BASE0 = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|[1-9][0-9_]*|0)$/;

function parseBase0(fn: string, s: string, signed: boolean, bits: number): number {
  const m = INT_BASE0.exec(s);
  if (!m || (!signed && m[1] !== '') || m[2].includes('__') || m[2].endsWith('_')) {
    throw new Error(`strconv.${fn}: parsing ${goQuote(s)}: invalid syntax`);
  }
  let digits = m[2].replace(/_/g, '');
  let radix = 10;
  if (/^0[xX]/.test(digits)) [radix, digits] = [16, digits.slice(2)];
  else if (/^0[bB]/.test(digits)) [radix, digits] = [2, digits.slice(2)];
  else if (/^0[oO]/.test(digits)) [radix, digits] = [8, digits.slice(2)];
  else if (digits.length > 1 && digits.startsWith('0')) [radix, digits] = [8, digits.slice(1)];
  const prefix: Record<number, string> = { 16: '0x', 2: '0b', 8: '0o', 10: '' };
  const big = BigInt(prefix[radix] + (digits || '0'));
  const value = m[1] === '-' ? -big : big;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  if (value > max || value < min) {
    throw new Error(`strconv.${fn}: parsing ${goQuote(s)}: value out of range`);
  }
  return Number(value);
}

/** strconv.ParseInt(s, 0, bits): decimal, 0x, 0o, 0b or leading-0 octal. */
export function parseGoInt(s: string, bits = 64): number {
  return parseBase0('ParseInt', s, true, bits);
}

/** strconv.ParseUint(s, 0, bits). */
export function parseGoUint(s: string, bits = 64): number {
  return parseBase0('ParseUint', s, false, bits);
}

/** strconv.ParseFloat(s, 64), for the decimal forms flags take. */
export function parseGoFloat(s: string): number {
  if (!/^[+-]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^[+-]?(inf|infinity|nan)$/i.test(s)) {
    throw new Error(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  }
  return Number(s.replace(/_/g, '').replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'));
}
