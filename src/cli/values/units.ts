// docker/go-units: human durations ("5 minutes"), byte sizes ("64MiB") and the memory flag
// parser (RAMInBytes), plus docker's CPU-count parser (opts.ParseCPUs).

const MS_PER_SECOND = 1000;

/** units.HumanDuration, from milliseconds: "Less than a second", "About a minute", "3 hours"... */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / MS_PER_SECOND);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const exactHours = ms / 3_600_000;
  const hours = Math.trunc(exactHours + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(exactHours) / 24 / 365)} years`;
}

const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's %.4g for the magnitudes sizes take: 4 significant digits, trailing zeros dropped. */
function fourSignificant(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/** units.BytesSize: "64MiB", "1.5GiB", "512B". */
export function bytesSize(size: number): string {
  let i = 0;
  while (size >= 1024 && i < BINARY_ABBRS.length - 1) {
    size /= 1024;
    i++;
  }
  return fourSignificant(size) + BINARY_ABBRS[i];
}

const BINARY_MULTIPLIERS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** units.RAMInBytes: "64m", "1g", "512k", "1.5GiB", "100" (bytes); case-insensitive, b optional. */
export function ramInBytes(input: string): number {
  let sep = -1;
  for (let i = input.length - 1; i >= 0; i--) {
    if ('01234567890. '.includes(input[i])) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new Error(`invalid size: '${input}'`);
  let num: string;
  let sfx: string;
  if (input[sep] !== ' ') {
    num = input.slice(0, sep + 1);
    sfx = input.slice(sep + 1);
  } else {
    num = input.slice(0, sep);
    sfx = input.slice(sep + 1);
  }
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  let size = Number(num);
  if (size < 0) throw new Error(`invalid size: '${input}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = (): Error => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const mul = BINARY_MULTIPLIERS[sfx[0]];
  if (mul === undefined) throw bad();
  size *= mul;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

/** opts.ParseCPUs: "0.5" → 500000000 NanoCPUs; also "1/2". At most nanosecond precision. */
export function parseCpus(value: string): number {
  const fail = (): Error => new Error(`failed to parse ${value} as a rational number`);
  const ratio = /^([+-]?\d+)\/(\d+)$/.exec(value);
  if (ratio) {
    const num = BigInt(ratio[1]) * 1_000_000_000n;
    const den = BigInt(ratio[2]);
    if (den === 0n) throw fail();
    if (num % den !== 0n) throw new Error('value is too precise');
    return Number(num / den);
  }
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw fail();
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw new Error('value is too precise');
  const nano = BigInt(m[2] || '0') * 1_000_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  return Number(m[1] === '-' ? -nano : nano);
}
