import {
  createRootCA,
  createNodeKeyAndCSR,
  issueNodeCertificate,
  type NodeRole,
  type RootCAMaterial,
} from '../../src/ca';

export interface NodeMaterial {
  certPem: string;
  keyPem: string;
  nodeId: string;
}

export async function issueNode(
  root: RootCAMaterial,
  role: NodeRole,
  nodeId: string,
  clusterId = 'cluster0',
): Promise<NodeMaterial> {
  const { keyPem, csrPem } = await createNodeKeyAndCSR();
  const certPem = await issueNodeCertificate({
    rootCertPem: root.certPem,
    rootKeyPem: root.keyPem,
    csrPem,
    nodeId,
    role,
    clusterId,
  });
  return { certPem, keyPem, nodeId };
}

export { createRootCA };

/** Standard PEM: 64-char base64 lines, LF, trailing newline. */
export function isStandardPem(pem: string, label: string): boolean {
  const re = new RegExp(
    `^-----BEGIN ${label}-----\\n([A-Za-z0-9+/]{64}\\n)*[A-Za-z0-9+/=]{1,64}\\n-----END ${label}-----\\n$`,
  );
  return re.test(pem);
}
