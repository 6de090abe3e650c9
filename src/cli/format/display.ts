// Small presentation helpers from docker's cli/command/formatter/displayutils.go.

const SHORT_ID_LENGTH = 12;

/** formatter.TruncateID: drop an `algo:` prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  const bare = colon >= 0 ? id.slice(colon + 1) : id;
  return bare.length > SHORT_ID_LENGTH ? bare.slice(0, SHORT_ID_LENGTH) : bare;
}

/** formatter.PrettyPrint: upper-case first letter, rest lower-case ("ready" → "Ready"); nil → "None". */
export function prettyPrint(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  const s = String(v);
  if (s.length === 0) return s;
  if (s.length === 1) return s.toLowerCase();
  return s[0].toUpperCase() + s.slice(1).toLowerCase();
}

/** formatter.Ellipsis: shorten to `max` characters, the last one "…". */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const chars = [...s];
  if (max === 1) return chars[0] ?? '';
  if (chars.length <= max) return s;
  return chars.slice(0, max - 1).join('') + '…';
}

/**
 * The image as `service ls`/`service ps` show it: the digest stripped from `name:tag@sha256:…`
 * (reference.FamiliarString of the tagged name). Untagged or digest-only references stay as they are.
 */
export function imageForDisplay(image: string): string {
  const at = image.indexOf('@');
  if (at === -1) return familiar(image);
  const named = image.slice(0, at);
  const lastSlash = named.lastIndexOf('/');
  const hasTag = named.lastIndexOf(':') > lastSlash;
  return hasTag ? familiar(named) : image;
}

/** reference.FamiliarString: drop docker.io/ and docker.io/library/. */
function familiar(ref: string): string {
  if (ref.startsWith('docker.io/library/')) return ref.slice('docker.io/library/'.length);
  if (ref.startsWith('docker.io/')) return ref.slice('docker.io/'.length);
  return ref;
}

/** encoding/json's HTML-safe escaping of <, > and &, plus U+2028/U+2029, inside JSON text. */
export function goJsonEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}
