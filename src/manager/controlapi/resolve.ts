import { ApiError } from '../../api/errors';

/**
 * Finds one object by what a user typed, in moby's order: full ID, then exact name, then a
 * unique ID prefix. `kind` is the word in the error texts ("service", "node", "task").
 */
export function resolveRef<T extends { ID: string }>(
  kind: string,
  ref: string,
  objects: Iterable<T>,
  nameOf: (o: T) => string | undefined,
): T {
  const all = [...objects];
  const byId = all.find((o) => o.ID === ref);
  if (byId) return byId;
  const byName = all.filter((o) => nameOf(o) === ref);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) throw new ApiError(400, `${kind} ${ref} is ambiguous (${byName.length} matches found)`);
  const byPrefix = ref === '' ? [] : all.filter((o) => o.ID.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw new ApiError(400, `${kind} ${ref} is ambiguous (${byPrefix.length} matches found)`);
  throw new ApiError(404, `${kind} ${ref} not found`);
}
