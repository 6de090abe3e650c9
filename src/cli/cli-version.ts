// The CLI's own version, from the package.json two levels above src/cli and dist/cli.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let cached: string | undefined;

export function cliVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string };
      cached = pkg.version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
