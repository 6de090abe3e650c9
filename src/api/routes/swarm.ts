import type { Router } from '../router';
import { boolValue, parseBool, parseVersion, readJson, writeEmpty, writeJson } from '../http';
import { initRequestSchema, joinRequestSchema, swarmSpecSchema, unlockRequestSchema } from '../schema';
import { rpcError, MSG } from '../errors';
import type { ApiContext } from '../context';
import type { InitRequest, JoinRequest, SwarmSpec } from '../../types/swarm';
import { publicCluster } from '../../daemon/swarm-node';
import { normalizeSwarmSpec } from '../../manager/controlapi/cluster-spec';
import { generateJoinToken } from '../../ca';
import { clusterTLSInfo } from '../../ca/root-rotation';
import { validateCAConfig } from '../../manager/controlapi/ca-rotation';
import { generateUnlockKey } from '../../manager/encryption/unlock-key';
import { goTime } from '../../util/time';

export function swarmRoutes(r: Router, ctx: ApiContext): void {
  r.add('POST', '/swarm/init', async ({ req, res }) => {
    const body = (await readJson<InitRequest>(req, initRequestSchema)) ?? {};
    const id = await ctx.node.init(body);
    writeJson(res, 200, id);
  });

  r.add('POST', '/swarm/join', async ({ req, res }) => {
    const body = (await readJson<JoinRequest>(req, joinRequestSchema)) ?? {};
    await ctx.node.join(body);
    writeEmpty(res);
  });

  r.add('POST', '/swarm/leave', async ({ res, query }) => {
    await ctx.node.leave(boolValue(query.get('force')));
    writeEmpty(res);
  });

  r.add('GET', '/swarm', ({ res }) => {
    const m = ctx.node.requireManager();
    const c = m.store.list('cluster')[0];
    writeJson(res, 200, { ...publicCluster(c), JoinTokens: c.RootCA.JoinTokens });
  });

  r.add('POST', '/swarm/update', async ({ req, res, query }) => {
    const m = ctx.node.requireManager();
    const version = parseVersion('swarm', query.get('version'));
    const rotateWorker = parseBool('rotateWorkerToken', query.get('rotateWorkerToken'));
    const rotateManager = parseBool('rotateManagerToken', query.get('rotateManagerToken'));
    const rotateUnlock = parseBool('rotateManagerUnlockKey', query.get('rotateManagerUnlockKey'));
    const given = await readJson<SwarmSpec>(req, swarmSpecSchema);
    const spec = normalizeSwarmSpec(given);
    let c = m.store.list('cluster')[0];
    if (c.Version.Index !== version) throw rpcError('Unknown', MSG.outOfSequence);
    // The root: kept, its key swapped, or a rotation started (validateCAConfig may dial external CAs meanwhile).
    const rootCA = await validateCAConfig(c, given, { credentials: () => m.tlsCredentials?.() });
    c = m.store.list('cluster')[0];
    if (c.Version.Index !== version) throw rpcError('Unknown', MSG.outOfSequence);
    // As swarmkit's UpdateCluster: autolock on keeps (or, rotated, replaces) the key, and makes one
    // if there is none; off drops it. Rotating while autolock is off is ignored.
    let unlockKey = '';
    if (spec.EncryptionConfig?.AutoLockManagers) {
      unlockKey = c.UnlockKey && !rotateUnlock ? c.UnlockKey : generateUnlockKey();
    }
    const tokens = { ...rootCA.JoinTokens };
    if (rotateWorker) tokens.Worker = generateJoinToken(c.RootCA.CACert);
    if (rotateManager) tokens.Manager = generateJoinToken(c.RootCA.CACert);
    await m.store.update((tx) =>
      tx.update('cluster', {
        ...c,
        Spec: spec,
        UpdatedAt: goTime(),
        RootCA: { ...rootCA, JoinTokens: tokens },
        TLSInfo: clusterTLSInfo(rootCA),
        RootRotationInProgress: !!rootCA.RootRotation,
        UnlockKey: unlockKey,
      }),
    );
    writeEmpty(res);
  });

  r.add('GET', '/swarm/unlockkey', ({ res }) => {
    const m = ctx.node.requireManager();
    writeJson(res, 200, { UnlockKey: m.store.list('cluster')[0].UnlockKey });
  });

  r.add('POST', '/swarm/unlock', async ({ req, res }) => {
    const body = await readJson<{ UnlockKey?: string }>(req, unlockRequestSchema);
    await ctx.node.unlock(body?.UnlockKey ?? '');
    writeEmpty(res);
  });
}
