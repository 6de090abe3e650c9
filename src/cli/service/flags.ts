// The flags of `service create` and `service update`, with docker's names and texts
// (cli/command/service/opts.go addServiceFlags, create.go, update.go). Values that docker
// checks while parsing (pflag.Value.Set) are validated here, so that a bad value is a usage
// error with docker's text and exit status 125.
import { bool, duration, float, int, list, str, uint, type FlagDefs } from '../flags/define';
import { detachFlag } from '../flags/common';
import { shlexSplit } from '../values/shlex';
import { parseCpus, ramInBytes } from '../values/units';
import { expandEnv, validateLabel } from '../values/kv';
import { parseMount } from './mounts';
import { parsePublish } from './ports';

const cpus = { validate: (v: string) => void parseCpus(v), valueName: 'decimal' };
const bytes = { validate: (v: string) => void ramInBytes(v), valueName: 'bytes' };
const label = { validate: validateLabel };
const env = { validate: (v: string) => void expandEnv(v) };
const shlex = { validate: (v: string) => void shlexSplit(v), valueName: 'command' };
const mount = { validate: (v: string) => void parseMount(v), valueName: 'mount' };
const port = { validate: (v: string) => void parsePublish(v), valueName: 'port' };

function validatePlacementPref(value: string): void {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new Error('placement preference must be of the format "<strategy>=<arg>"');
  const strategy = value.slice(0, eq);
  if (strategy !== 'spread') throw new Error(`unsupported placement preference ${strategy} (only spread is supported)`);
}

/** addServiceFlags: the flags `create` and `update` share. */
export const COMMON_SERVICE_FLAGS = {
  detach: detachFlag(),
  quiet: bool('Suppress progress output', { char: 'q' }),
  workdir: str('Working directory inside the container', { char: 'w' }),
  user: str('Username or UID (format: <name|uid>[:<group|gid>])', { char: 'u' }),
  hostname: str('Container hostname'),
  entrypoint: str('Overwrite the default ENTRYPOINT of the image', shlex),
  'cap-add': list('Add Linux capabilities'),
  'cap-drop': list('Drop Linux capabilities'),
  'limit-cpu': str('Limit CPUs', cpus),
  'limit-memory': str('Limit Memory', bytes),
  'reserve-cpu': str('Reserve CPUs', cpus),
  'reserve-memory': str('Reserve Memory', bytes),
  'limit-pids': int('Limit maximum number of processes (default 0 = unlimited)'),
  'stop-grace-period': duration('Time to wait before force killing a container (ns|us|ms|s|m|h) (default 10s)'),
  replicas: uint('Number of tasks'),
  'max-concurrent': uint('Number of job tasks to run concurrently (default equal to --replicas)'),
  'replicas-max-per-node': uint('Maximum number of tasks per node (default 0 = unlimited)'),
  'restart-condition': str('Restart when condition is met ("none", "on-failure", "any") (default "any")'),
  'restart-delay': duration('Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)'),
  'restart-max-attempts': uint('Maximum number of restarts before giving up'),
  'restart-window': duration('Window used to evaluate the restart policy (ns|us|ms|s|m|h)'),
  'update-parallelism': uint('Maximum number of tasks updated simultaneously (0 to update all at once)'),
  'update-delay': duration('Delay between updates (ns|us|ms|s|m|h) (default 0s)'),
  'update-monitor': duration('Duration after each task update to monitor for failure (ns|us|ms|s|m|h) (default 5s)'),
  'update-failure-action': str('Action on update failure ("pause", "continue", "rollback") (default "pause")'),
  'update-max-failure-ratio': float('Failure rate to tolerate during an update (default 0)'),
  'update-order': str('Update order ("start-first", "stop-first") (default "stop-first")'),
  'rollback-parallelism': uint('Maximum number of tasks rolled back simultaneously (0 to roll back all at once)'),
  'rollback-delay': duration('Delay between task rollbacks (ns|us|ms|s|m|h) (default 0s)'),
  'rollback-monitor': duration(
    'Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h) (default 5s)',
  ),
  'rollback-failure-action': str('Action on rollback failure ("pause", "continue") (default "pause")'),
  'rollback-max-failure-ratio': float('Failure rate to tolerate during a rollback (default 0)'),
  'rollback-order': str('Rollback order ("start-first", "stop-first") (default "stop-first")'),
  'endpoint-mode': str('Endpoint mode (vip or dnsrr)', { default: 'vip' }),
  'with-registry-auth': bool('Send registry authentication details to swarm agents'),
  'no-resolve-image': bool('Do not query the registry to resolve image digest and supported platforms'),
  'log-driver': str('Logging driver for service'),
  'log-opt': list('Logging driver options'),
  'health-cmd': str('Command to run to check health'),
  'health-interval': duration('Time between running the check (ms|s|m|h)'),
  'health-timeout': duration('Maximum time to allow one check to run (ms|s|m|h)'),
  'health-retries': int('Consecutive failures needed to report unhealthy'),
  'health-start-period': duration(
    'Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)',
  ),
  'health-start-interval': duration('Time between running the check during the start period (ms|s|m|h)'),
  'no-healthcheck': bool('Disable any container-specified HEALTHCHECK'),
  tty: bool('Allocate a pseudo-TTY', { char: 't' }),
  'read-only': bool("Mount the container's root filesystem as read only"),
  'stop-signal': str('Signal to stop the container'),
  isolation: str('Service container isolation mode'),
  'oom-score-adj': int("Tune host's OOM preferences (-1000 to 1000) "),
} satisfies FlagDefs;

/** `service create`'s own flags. (docker's --host extra-hosts flag is left out: -H/--host selects the daemon.) */
export const CREATE_FLAGS = {
  ...COMMON_SERVICE_FLAGS,
  mode: str('Service mode ("replicated", "global", "replicated-job", "global-job")', { default: 'replicated' }),
  name: str('Service name'),
  label: list('Service labels', { char: 'l', ...label }),
  'container-label': list('Container labels', label),
  env: list('Set environment variables', { char: 'e', ...env }),
  'env-file': list('Read in a file of environment variables'),
  mount: list('Attach a filesystem mount to the service', mount),
  constraint: list('Placement constraints'),
  'placement-pref': list('Add a placement preference', { validate: validatePlacementPref, valueName: 'pref' }),
  network: list('Network attachments'),
  publish: list('Publish a port as a node port', { char: 'p', ...port }),
  group: list('Set one or more supplementary user groups for the container'),
  dns: list('Set custom DNS servers'),
  'dns-option': list('Set DNS options'),
  'dns-search': list('Set custom DNS search domains'),
  init: bool('Use an init inside each service container to forward signals and reap processes'),
  sysctl: list('Sysctl options'),
} satisfies FlagDefs;

/** `service update`'s own flags. */
export const UPDATE_FLAGS = {
  ...COMMON_SERVICE_FLAGS,
  image: str('Service image tag'),
  args: str('Service command args', shlex),
  rollback: bool('Rollback to previous specification'),
  force: bool('Force update even if no changes require it'),
  'env-add': list('Add or update an environment variable', env),
  'env-rm': list('Remove an environment variable'),
  'label-add': list('Add or update a service label', label),
  'label-rm': list('Remove a label by its key'),
  'container-label-add': list('Add or update a container label', label),
  'container-label-rm': list('Remove a container label by its key'),
  'mount-add': list('Add or update a mount on a service', mount),
  'mount-rm': list('Remove a mount by its target path'),
  'publish-add': list('Add or update a published port', port),
  'publish-rm': list('Remove a published port by its target port', port),
  'constraint-add': list('Add or update a placement constraint'),
  'constraint-rm': list('Remove a constraint'),
  'placement-pref-add': list('Add a placement preference', { validate: validatePlacementPref, valueName: 'pref' }),
  'placement-pref-rm': list('Remove a placement preference', { validate: validatePlacementPref, valueName: 'pref' }),
  'group-add': list('Add an additional supplementary user group to the container'),
  'group-rm': list('Remove a previously added supplementary user group from the container'),
  'dns-add': list('Add or update a custom DNS server'),
  'dns-rm': list('Remove a custom DNS server'),
  'dns-option-add': list('Add or update a DNS option'),
  'dns-option-rm': list('Remove a DNS option'),
  'dns-search-add': list('Add or update a custom DNS search domain'),
  'dns-search-rm': list('Remove a DNS search domain'),
  'host-add': list('Add a custom host-to-IP mapping ("host:ip")'),
  'host-rm': list('Remove a custom host-to-IP mapping ("host:ip")'),
  init: bool('Use an init inside each service container to forward signals and reap processes'),
  'sysctl-add': list('Add or update a Sysctl option'),
  'sysctl-rm': list('Remove a Sysctl option'),
} satisfies FlagDefs;
