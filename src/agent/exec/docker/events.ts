// One stream of the engine's container events for the whole executor, handed out by container name
// (swarmkit's controller matches events by name too). Controllers use it for health (a task is
// running once healthy; an unhealthy one is stopped) and to see a container die while starting.
//
// If the stream breaks (the engine restarting), it is opened again, and every subscriber gets a
// `resync` so it can inspect its container for whatever it missed in between.

import type Docker from 'dockerode';
import { LABEL } from './container-spec';

/** A container event as the engine sends it (moby api/types/events.Message). */
export interface EngineEvent {
  Type: string;
  /** e.g. `start`, `die`, `destroy`, `health_status: healthy`. */
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano?: number;
}

/** An event for one container, or word that events may have been missed and the container should be inspected. */
export type ContainerSignal = { kind: 'event'; event: EngineEvent } | { kind: 'resync' };

type Listener = (signal: ContainerSignal) => void;

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

export class EngineEvents {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly abort = new AbortController();
  private closed = false;
  private reconnecting = false;

  constructor(private readonly docker: Docker) {}

  /** Opens the stream; rejects if the engine does not answer. */
  async open(): Promise<void> {
    await this.connect();
  }

  /** Events for the container named `name` from now on; returns the unsubscribe function. */
  subscribe(name: string, listener: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(name) === set) this.listeners.delete(name);
    };
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
  }

  private async connect(): Promise<void> {
    const stream = (await this.docker.getEvents({
      // Only task containers (Docker Swarm's label); which task is told apart by name.
      filters: { type: ['container'], label: [LABEL.task] },
      abortSignal: this.abort.signal,
    } as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.dispatch(line);
      }
    });
    let ended = false;
    const onEnd = () => {
      if (ended) return;
      ended = true;
      if (!this.closed) void this.reconnect();
    };
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onEnd);
  }

  private dispatch(line: string): void {
    let ev: EngineEvent;
    try {
      ev = JSON.parse(line) as EngineEvent;
    } catch {
      return;
    }
    const name = ev.Actor?.Attributes?.name;
    const set = name ? this.listeners.get(name) : undefined;
    if (set) for (const l of [...set]) l({ kind: 'event', event: ev });
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    let delay = RECONNECT_MIN_MS;
    try {
      while (!this.closed) {
        await new Promise((r) => setTimeout(r, delay));
        if (this.closed) return;
        try {
          await this.connect();
          for (const set of this.listeners.values()) for (const l of [...set]) l({ kind: 'resync' });
          return;
        } catch {
          delay = Math.min(RECONNECT_MAX_MS, delay * 2);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }
}

/** The events of one container, queued from the moment of subscribing so none is missed while the caller awaits something else. */
export class ContainerEvents {
  private readonly queue: ContainerSignal[] = [];
  private waiter?: (s: ContainerSignal) => void;
  private readonly off: () => void;

  constructor(events: EngineEvents, name: string) {
    this.off = events.subscribe(name, (s) => {
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        w(s);
      } else this.queue.push(s);
    });
  }

  next(): Promise<ContainerSignal> {
    const s = this.queue.shift();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.off();
    this.waiter = undefined;
  }
}
