import type { ClusterInfo, JoinTokens, Node, Service, Task } from '../types/swarm';

/**
 * The cluster object as the replicated state holds it: the API's ClusterInfo plus the secrets
 * that only managers may hold (the root CA key, the join tokens, the unlock key). The API layer
 * strips those before anything leaves the daemon; they are never logged.
 */
export interface ClusterObject extends ClusterInfo {
  RootCA: ClusterRootCA;
  /** SWMKEY-1-... while autolock is on; empty otherwise. */
  UnlockKey: string;
  /**
   * Removed nodes, by node ID, until their certificates expire: a removed node is refused even
   * while its certificate is still valid (swarmkit's name for it).
   */
  BlacklistedCertificates?: Record<string, { Expiry: string }>;
}

/**
 * A root rotation in progress (swarmkit's api.RootRotation): the root being moved to, its key ('' when an external
 * CA holds it), and that root cross-signed by the current one, which new certificates carry as their intermediate.
 */
export interface RootRotation {
  CACert: string;
  CAKey: string;
  CrossSignedCACert: string;
}

/** swarmkit's api.RootCA: the swarm's root, its key ('' when an external CA signs), the join tokens that pin it. */
export interface ClusterRootCA {
  CACert: string;
  CAKey: string;
  /** `sha256:<hex>` of CACert's bytes. */
  CACertHash?: string;
  JoinTokens: JoinTokens;
  RootRotation?: RootRotation;
  /** The Spec.CAConfig.ForceRotate the current root (or rotation) answers; a different value asks for a new root. */
  LastForcedRotation?: number;
}

/** The tables of the store and the object each holds. */
export interface Tables {
  cluster: ClusterObject;
  nodes: Node;
  services: Service;
  tasks: Task;
}

export type TableName = keyof Tables;
export const TABLES: TableName[] = ['cluster', 'nodes', 'services', 'tasks'];

export type StoredObject = Tables[TableName];
