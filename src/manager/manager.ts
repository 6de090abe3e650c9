import { SingleMemberLog } from '../log/single-member-log';
import { MemoryStorage } from '../log/memory-storage';
import { MemoryStore } from '../store/memory-store';
import { Orchestrator } from '../orchestrator/orchestrator';
import { Scheduler } from '../scheduler/scheduler';
import { Dispatcher } from '../dispatcher/dispatcher';

/**
 * A manager's moving parts: the replicated log and the store it feeds, and the components
 * that watch the store (orchestrator, scheduler, dispatcher), as swarmkit's manager package.
 */
export class Manager {
  readonly orchestrator: Orchestrator;
  readonly scheduler: Scheduler;
  readonly dispatcher: Dispatcher;

  private constructor(
    readonly store: MemoryStore,
    private readonly log: SingleMemberLog,
  ) {
    this.orchestrator = new Orchestrator(store);
    this.scheduler = new Scheduler(store);
    this.dispatcher = new Dispatcher(store);
  }

  static async open(): Promise<Manager> {
    const store = new MemoryStore();
    const log = await SingleMemberLog.open(store, { storage: new MemoryStorage() });
    store.attach(log);
    return new Manager(store, log);
  }

  start(): void {
    this.orchestrator.start();
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.orchestrator.stop();
    this.scheduler.stop();
    await this.log.close();
  }
}
