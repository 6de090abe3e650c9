import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeServiceSpec, resolvePorts } from '../../src/manager/controlapi/service-spec';
import type { Service, ServiceSpec } from '../../src/types/swarm';

const spec = (name: string, published?: number): ServiceSpec =>
  normalizeServiceSpec({
    Name: name,
    Labels: {},
    TaskTemplate: { ContainerSpec: { Image: 'busybox' }, ForceUpdate: 0 },
    EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: published }] },
  });

const service = (s: ServiceSpec, ports = resolvePorts(s, [])): Service =>
  ({ ID: `id-${s.Name}`, Spec: s, Endpoint: { Spec: s.EndpointSpec!, Ports: ports } }) as Service;

test('an ingress port published as 0 gets the first free one from 30000', () => {
  const first = resolvePorts(spec('a'), []);
  assert.deepEqual(first, [{ TargetPort: 80, PublishedPort: 30000, Protocol: 'tcp', PublishMode: 'ingress' }]);
  assert.equal(resolvePorts(spec('b'), [service(spec('a'), first)])[0].PublishedPort, 30001);
});

test("a published port another service holds is refused with swarmkit's text", () => {
  const web = service(spec('web', 8080));
  assert.throws(
    () => resolvePorts(spec('api', 8080), [web]),
    (e: Error) =>
      e.message ===
      "rpc error: code = InvalidArgument desc = port '8080' is already in use by service 'web' (id-web) as an ingress port",
  );
});
