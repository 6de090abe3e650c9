// docker's swarmopts.PortOpt: `-p 8080:80`, `-p 8080:80/udp`, `-p 80`, ranges `8080-8081:80-81`,
// or the long form `published=8080,target=80,protocol=udp,mode=host`.
import type { PortConfig } from '../../types/swarm';
import { parseCsvRecord } from '../values/csv';

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

function parsePortNumber(val: string, what: string): number {
  if (!/^\d+$/.test(val)) throw new Error(`invalid ${what} port (${val}): value must be an integer: invalid syntax`);
  const n = Number(val);
  if (n > 65535) throw new Error(`invalid ${what} port (${val}): value must be an integer: value out of range`);
  return n;
}

function parseLong(value: string): PortConfig {
  const port: PortConfig = {};
  for (const field of parseCsvRecord(value)) {
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    const key = eq === -1 ? '' : lower.slice(0, eq);
    const val = lower.slice(eq + 1);
    if (eq === -1 || key === '') throw new Error(`invalid field: ${field}`);
    switch (key) {
      case 'protocol':
        if (!PROTOCOLS.includes(val)) throw new Error(`invalid protocol value '${val}'`);
        port.Protocol = val as PortConfig['Protocol'];
        break;
      case 'mode':
        if (val !== 'ingress' && val !== 'host') {
          throw new Error(`invalid publish mode value (${val}): must be either 'ingress' or 'host'`);
        }
        port.PublishMode = val;
        break;
      case 'target':
        port.TargetPort = parsePortNumber(val, 'target');
        break;
      case 'published':
        port.PublishedPort = parsePortNumber(val, 'published');
        break;
      default:
        throw new Error(`invalid field key: ${key}`);
    }
  }
  if (!port.TargetPort) throw new Error("missing mandatory field 'target'");
  return {
    Protocol: port.Protocol ?? 'tcp',
    TargetPort: port.TargetPort,
    PublishedPort: port.PublishedPort,
    PublishMode: port.PublishMode ?? 'ingress',
  };
}

function parseRange(spec: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) throw new Error(`invalid ${what}: ${spec}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) throw new Error(`invalid ${what}: ${spec}`);
  return [start, end];
}

/** nat.ParsePortSpecs + ConvertPortToPortConfig for one short-syntax spec. */
function parseShort(value: string): PortConfig[] {
  let spec = value;
  let proto = 'tcp';
  const slash = spec.lastIndexOf('/');
  if (slash !== -1) {
    proto = spec.slice(slash + 1).toLowerCase();
    spec = spec.slice(0, slash);
    if (!PROTOCOLS.includes(proto)) throw new Error(`invalid proto: ${proto}`);
  }
  const parts = spec.split(':');
  if (parts.length > 3) throw new Error(`invalid port format for --publish: ${value}`);
  if (parts.length === 3) {
    if (parts[0] !== '') throw new Error('hostip is not supported');
    parts.shift();
  }
  const containerSpec = parts[parts.length - 1];
  const hostSpec = parts.length === 2 ? parts[0] : '';
  if (containerSpec === '') throw new Error(`no port specified: ${value}<empty>`);
  const [cStart, cEnd] = parseRange(containerSpec, 'containerPort');
  const out: PortConfig[] = [];
  const mk = (target: number, published: number | undefined): PortConfig => ({
    Protocol: proto as PortConfig['Protocol'],
    TargetPort: target,
    PublishedPort: published,
    PublishMode: 'ingress',
  });
  if (hostSpec === '') {
    for (let p = cStart; p <= cEnd; p++) out.push(mk(p, undefined));
    return out;
  }
  const [hStart, hEnd] = parseRange(hostSpec, 'hostPort');
  if (cStart === cEnd) {
    // one container port may be published on a range of host ports
    for (let h = hStart; h <= hEnd; h++) out.push(mk(cStart, h));
    return out;
  }
  if (hEnd - hStart !== cEnd - cStart) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerSpec} and ${hostSpec}`);
  }
  for (let i = 0; i <= cEnd - cStart; i++) out.push(mk(cStart + i, hStart + i));
  return out;
}

export function parsePublish(value: string): PortConfig[] {
  return /\w+=\w+(,\w+=\w+)*/.test(value) ? [parseLong(value)] : parseShort(value);
}

/** `published:target/protocol` key used when updating ports (update.go portConfigToString). */
export function portKey(p: PortConfig): string {
  return `${p.PublishedPort ?? 0}:${p.TargetPort ?? 0}/${(p.Protocol ?? 'tcp').toLowerCase()}/${(p.PublishMode ?? '').toLowerCase()}`;
}
