// The docker client's imageWithTagString: an image given by name only gets `:latest`, in its
// familiar form (docker.io/library/ dropped); tagged, digested or unparsable references are kept.

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?';
const NAME_ONLY = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*$`);

export function imageWithTag(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  if (image.lastIndexOf(':') > lastSlash) return image; // already tagged
  if (!NAME_ONLY.test(image)) return image;
  let familiar = image;
  if (familiar.startsWith('docker.io/library/')) familiar = familiar.slice('docker.io/library/'.length);
  else if (familiar.startsWith('docker.io/')) familiar = familiar.slice('docker.io/'.length);
  return `${familiar}:latest`;
}
