import type { ClusterInfo, JoinTokens, Node, Service, Task } from '../types/swarm';

/**
 * The cluster object as the replicated state holds it: the API's ClusterInfo plus the secrets
 * that only managers may hold (the root CA key, the join tokens, the unlock key). The API layer
 * strips those before anything leaves the daemon; they are never logged.
 */
export interface ClusterObject extends ClusterInfo {
  RootCA: {
    CACert: string;
    CAKey: string;
    JoinTokens: JoinTokens;
  };
  /** SWMKEY-1-... while autolock is on; empty otherwise. */
  UnlockKey: string;
  /**
   * Removed nodes, by node ID, until their certificates expire: a removed node is refused even
   * while its certificate is still valid (swarmkit's name for it).
   */
  BlacklistedCertificates?: Record<string, { Expiry: string }>;
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
