// docker's opts.MountOpt: `--mount type=bind,source=/a,target=/b,readonly` and friends.
import { resolve } from 'node:path';
import type { Mount } from '../../types/swarm';
import { parseCsvRecord } from '../values/csv';
import { parseGoBool } from '../values/go-strconv';
import { ramInBytes } from '../values/units';

type Opts = Record<string, unknown>;

export function parseMount(value: string): Mount {
  const mount: Mount = { Type: 'volume', Target: '' };
  let volume: Opts | undefined;
  let bind: Opts | undefined;
  let tmpfs: Opts | undefined;
  const volumeOptions = (): Opts => (volume ??= { Labels: {} as Record<string, string> });
  const driverConfig = (): Opts =>
    ((volumeOptions().DriverConfig as Opts | undefined) ?? (volumeOptions().DriverConfig = {})) as Opts;
  const bool = (key: string, val: string): boolean => {
    try {
      return parseGoBool(val);
    } catch {
      throw new Error(`invalid value for ${key}: ${val}`);
    }
  };
  const setKv = (target: Record<string, string>, kv: string): void => {
    const eq = kv.indexOf('=');
    const k = eq === -1 ? kv : kv.slice(0, eq);
    if (k !== '') target[k] = eq === -1 ? '' : kv.slice(eq + 1);
  };

  for (const field of parseCsvRecord(value)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq === -1 ? '' : field.slice(eq + 1);
    if (eq === -1) {
      if (key === 'readonly' || key === 'ro') mount.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') (bind ??= {}).NonRecursive = true;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type':
        mount.Type = val.toLowerCase() as Mount['Type'];
        break;
      case 'source':
      case 'src':
        mount.Source = !val.startsWith('/') && val.startsWith('.') ? resolve(val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.Target = val;
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = bool(key, val);
        break;
      case 'consistency':
        mount.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        (bind ??= {}).Propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive':
        (bind ??= {}).NonRecursive = bool(key, val);
        break;
      case 'volume-subpath':
        volumeOptions().Subpath = val;
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = bool('volume-nocopy', val);
        break;
      case 'volume-label':
        setKv(volumeOptions().Labels as Record<string, string>, val);
        break;
      case 'volume-driver':
        driverConfig().Name = val;
        break;
      case 'volume-opt':
        setKv(((driverConfig().Options as Record<string, string> | undefined) ??= {}), val);
        break;
      case 'tmpfs-size':
        try {
          (tmpfs ??= {}).SizeBytes = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]+$/.test(val)) throw new Error(`invalid value for ${key}: ${val}`);
        (tmpfs ??= {}).Mode = parseInt(val, 8);
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (mount.Type === ('' as Mount['Type'])) throw new Error('type is required');
  if (mount.Target === '') throw new Error('target is required');
  if (volume && mount.Type !== 'volume')
    throw new Error(`cannot mix 'volume-*' options with mount type '${mount.Type}'`);
  if (bind && mount.Type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${mount.Type}'`);
  if (tmpfs && mount.Type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${mount.Type}'`);
  // Go field order: Type, Source, Target, ReadOnly, Consistency, BindOptions, VolumeOptions, TmpfsOptions
  const out: Mount = { Type: mount.Type, Source: mount.Source, Target: mount.Target };
  if (mount.ReadOnly) out.ReadOnly = true;
  if (mount.Consistency) out.Consistency = mount.Consistency;
  if (bind) out.BindOptions = bind;
  if (volume) out.VolumeOptions = volume;
  if (tmpfs) out.TmpfsOptions = tmpfs;
  if (out.Source === undefined) delete out.Source;
  return out;
}
