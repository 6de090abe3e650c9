import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderFormat } from '../../src/cli/format/formatter';
import { prettyEach } from '../../src/cli/format/inspect';
import {
  NODE_HEADER,
  NODE_INSPECT_PRETTY_TEMPLATE,
  NodeContext,
  nodeInspectData,
  nodeListFormat,
} from '../../src/cli/format/node-format';
import { naturalCompare } from '../../src/cli/format/natural-sort';
import type { Node } from '../../src/types/swarm';
import type { SystemInfo } from '../../src/client/system-types';

function node(id: string, hostname: string, extra: Partial<Node> = {}, engine = ''): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '0001-01-01T00:00:00Z',
    UpdatedAt: '0001-01-01T00:00:00Z',
    Spec: { Labels: {}, Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: '', OS: '' },
      Resources: { NanoCPUs: 0, MemoryBytes: 0 },
      Engine: { EngineVersion: engine },
      TLSInfo: {},
    },
    Status: { State: 'ready', Addr: '' },
    ...extra,
  };
}

const info = (nodeId: string): SystemInfo =>
  ({
    Swarm: {
      NodeID: nodeId,
      NodeAddr: '',
      LocalNodeState: 'active',
      ControlAvailable: true,
      Error: '',
      RemoteManagers: null,
    },
  }) as SystemInfo;

test('node ls table matches docker (node-list-sort.golden)', () => {
  const nodes = [
    node('nodeID1', 'node-2-foo', { ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '' } }, '.'),
    node('nodeID2', 'node-10-foo', { ManagerStatus: { Reachability: 'reachable', Addr: '' } }, '18.03.0-ce'),
    node('nodeID3', 'node-1-foo', {}, '1.13.0'),
  ].sort((a, b) => naturalCompare(a.Description.Hostname, b.Description.Hostname));
  const out = renderFormat(
    nodeListFormat('table', false),
    nodes.map((n) => new NodeContext(n, info('nodeID1'))),
    NODE_HEADER,
  );
  assert.equal(
    out,
    'ID          HOSTNAME      STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n' +
      'nodeID3     node-1-foo    Ready     Active                          1.13.0\n' +
      'nodeID1 *   node-2-foo    Ready     Active         Leader           .\n' +
      'nodeID2     node-10-foo   Ready     Active         Reachable        18.03.0-ce\n',
  );
});

test('node ls quiet, raw, custom and json formats', () => {
  const nodes = [
    node('nodeID1', 'foobar_baz', { ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '' } }),
  ];
  const rows = nodes.map((n) => new NodeContext(n, info('x')));
  assert.equal(renderFormat(nodeListFormat('table', true), rows, NODE_HEADER), 'nodeID1\n');
  assert.equal(
    renderFormat(nodeListFormat('raw', false), rows, NODE_HEADER),
    'node_id: nodeID1\nhostname: foobar_baz\nstatus: Ready\navailability: Active\nmanager_status: Leader\n\n',
  );
  assert.equal(renderFormat('{{.Hostname}}: {{.ManagerStatus}}', rows, NODE_HEADER), 'foobar_baz: Leader\n');
  assert.equal(
    renderFormat('json', rows, NODE_HEADER),
    '{"Availability":"Active","EngineVersion":"","Hostname":"foobar_baz","ID":"nodeID1","ManagerStatus":"Leader","Self":false,"Status":"Ready","TLSStatus":"Unknown"}\n',
  );
  assert.equal(
    renderFormat('table {{.ID}}\t{{.TLSStatus}}', rows, NODE_HEADER),
    'ID        TLS STATUS\nnodeID1   Unknown\n',
  );
});

test('node inspect --pretty matches docker (TestNodeInspectWriteContext)', async () => {
  const n = node('nodeID1', 'foobar_baz', {
    Status: { State: 'ready', Addr: '1.1.1.1' },
    Spec: { Labels: {}, Availability: 'drain', Role: 'manager' },
  });
  n.Description = {
    Hostname: 'foobar_baz',
    TLSInfo: {
      TrustRoot: '-----BEGIN CERTIFICATE-----\ndata\n-----END CERTIFICATE-----\n',
      CertIssuerPublicKey: Buffer.from('pubKey').toString('base64'),
      CertIssuerSubject: Buffer.from('subject').toString('base64'),
    },
    Platform: { OS: 'linux', Architecture: 'amd64' },
    Resources: { NanoCPUs: 0, MemoryBytes: 1 },
    Engine: { EngineVersion: '0.1.1' },
  };
  let out = '';
  await prettyEach(
    ['nodeID1'],
    NODE_INSPECT_PRETTY_TEMPLATE,
    async () => n,
    nodeInspectData,
    (t) => (out += t),
  );
  assert.equal(
    out,
    `ID:			nodeID1
Hostname:              	foobar_baz
Joined at:             	0001-01-01 00:00:00 +0000 utc
Status:
 State:			Ready
 Availability:         	Drain
 Address:		1.1.1.1
Platform:
 Operating System:	linux
 Architecture:		amd64
Resources:
 CPUs:			0
 Memory:		1B
Engine Version:		0.1.1
TLS Info:
 TrustRoot:
-----BEGIN CERTIFICATE-----
data
-----END CERTIFICATE-----

 Issuer Subject:	c3ViamVjdA==
 Issuer Public Key:	cHViS2V5
`,
  );
});
