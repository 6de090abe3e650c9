import { readFileSync } from 'node:fs';
import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, str, toOclifFlags } from '../../flags/define';
import { ProgressDisplay } from '../../progress';
import { CA_FLAGS, mergeCAFlags, parseExternalCA } from '../../swarm/opts';
import { createHash } from 'node:crypto';
import type { Swarm } from '../../../types/swarm';

/** opts.PEMFile: the file must exist and hold PEM. */
function readPem(path: string): string {
  const contents = readFileSync(path, 'utf8');
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(contents)) throw new Error('file contents must be in PEM format');
  return contents;
}

const FLAGS = {
  ...CA_FLAGS,
  rotate: bool('Rotate the swarm CA - if no certificate or key are provided, new ones will be generated'),
  'ca-cert': str('Path to the PEM-formatted root CA certificate to use for the new cluster', {
    valueName: 'pem-file',
    validate: (v) => void readPem(v),
  }),
  'ca-key': str('Path to the PEM-formatted root CA key to use for the new cluster', {
    valueName: 'pem-file',
    validate: (v) => void readPem(v),
  }),
  detach: bool('Exit immediately instead of waiting for the root rotation to converge', { char: 'd' }),
  quiet: bool('Suppress progress output', { char: 'q' }),
};

function trustRoot(sw: Swarm): string {
  const root = sw.TLSInfo?.TrustRoot ?? '';
  if (root === '') throw new CliError('No CA information available');
  return root.trim();
}

export default class SwarmCa extends BaseCommand {
  static override summary = 'Display and rotate the root CA';
  static override usage = 'swarm ca [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, changed } = this.parse(FLAGS, { max: 0 });
    const sw = await this.client.swarmInspect();
    if (!flags.rotate) {
      for (const f of ['ca-cert', 'ca-key', 'cert-expiry', 'external-ca'] as const) {
        if (changed.has(f)) throw new CliError(`\`--${f}\` flag requires the \`--rotate\` flag to update the CA`);
      }
      this.print(trustRoot(sw));
      return;
    }
    const externalCAs = flags['external-ca'].map(parseExternalCA);
    if (changed.has('external-ca') && externalCAs.length > 0 && !changed.has('ca-cert')) {
      throw new CliError(
        "rotating to an external CA requires the `--ca-cert` flag to specify the external CA's cert - to add an external CA with the current root CA certificate, use the `update` command instead",
      );
    }
    if (changed.has('ca-cert') && externalCAs.length === 0 && !changed.has('ca-key')) {
      throw new CliError(
        'the --ca-cert flag requires that a --ca-key flag and/or --external-ca flag be provided as well',
      );
    }
    const caCert = flags['ca-cert'] ? readPem(flags['ca-cert']) : '';
    const caKey = flags['ca-key'] ? readPem(flags['ca-key']) : '';
    mergeCAFlags(sw.Spec, flags, changed, caCert);
    const ca = (sw.Spec.CAConfig ??= {});
    ca.SigningCACert = caCert || undefined;
    ca.SigningCAKey = caKey || undefined;
    if (!caCert && !caKey) ca.ForceRotate = (ca.ForceRotate ?? 0) + 1;
    await this.client.swarmUpdate(sw.Version?.Index, sw.Spec);
    if (flags.detach) return;
    await this.waitForRotation(flags.quiet);
    this.print(trustRoot(await this.client.swarmInspect()));
  }

  /** docker's RootRotationProgress: poll until every node has certificates from the new root. */
  private async waitForRotation(quiet: boolean): Promise<void> {
    const out = quiet ? undefined : new ProgressDisplay(this.stdout);
    const certs = '  rotated TLS certificates';
    const roots = '  rotated CA certificates';
    out?.progress({ id: 'desired root digest', action: '' });
    out?.progress({ id: certs, action: '' });
    out?.progress({ id: roots, action: '' });
    for (let done = false; ;) {
      const sw = await this.client.swarmInspect();
      if (done) return;
      const nodes = await this.client.nodeList();
      const want = sw.TLSInfo ?? {};
      const digest =
        'sha256:' +
        createHash('sha256')
          .update(want.TrustRoot ?? '')
          .digest('hex');
      out?.progress({ id: 'desired root digest', action: digest });
      let certsRight = 0;
      let rootsRight = 0;
      for (const n of nodes) {
        const t = n.Description?.TLSInfo ?? {};
        if (t.CertIssuerPublicKey === want.CertIssuerPublicKey && t.CertIssuerSubject === want.CertIssuerSubject)
          certsRight++;
        if (t.TrustRoot === want.TrustRoot) rootsRight++;
      }
      const total = nodes.length;
      out?.progress({ id: certs, action: '', current: certsRight, total, units: 'nodes' });
      const finished = certsRight === total && !sw.RootRotationInProgress;
      out?.progress({ id: roots, action: '', current: finished ? rootsRight : 0, total, units: 'nodes' });
      done = finished && rootsRight === total;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
