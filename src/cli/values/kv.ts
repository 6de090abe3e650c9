// docker's opts.ConvertKVStringsToMap and label/env validation.

/** ["a=1", "b"] → {a: "1", b: ""}; later keys win. */
export function kvListToMap(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === -1) out[v] = '';
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** opts.ValidateLabel: a label needs a non-empty key. */
export function validateLabel(v: string): void {
  const eq = v.indexOf('=');
  const key = eq === -1 ? v : v.slice(0, eq);
  if (key.trim() === '') throw new Error(`invalid label '${v}': empty name`);
}

/** opts.ValidateEnv: `KEY=value` as is; a bare `KEY` takes its value from the current environment. */
export function expandEnv(v: string): string {
  const eq = v.indexOf('=');
  if (eq === 0) throw new Error(`invalid environment variable: ${v}`);
  if (eq > 0) return v;
  const value = process.env[v];
  return value === undefined ? v : `${v}=${value}`;
}
