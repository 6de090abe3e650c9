/** The Engine API version shoal speaks (docker CLI 28.5 sends 1.51; 28.2 sends 1.50). */
export const API_VERSION = '1.51';
export const MIN_API_VERSION = '1.24';

function cmp(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

/** moby's version middleware: the texts a client gets for a version out of range, or undefined if fine. */
export function checkApiVersion(v: string): string | undefined {
  if (cmp(v, MIN_API_VERSION) < 0) {
    return `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`;
  }
  if (cmp(v, API_VERSION) > 0) return `client version ${v} is too new. Maximum supported API version is ${API_VERSION}`;
  return undefined;
}
