// Pulls the images tasks need. The controller asks only after the engine said the image is missing
// (the image present locally is used as it is), and 20 replicas of one service starting together
// share one pull rather than making 20.

import type Docker from 'dockerode';
import { engineMessage } from './engine';

/** The engine's 404 text for a create whose image is not there (moby's errdefs "No such image: <ref>"). */
export function isMissingImage(message: string): boolean {
  return /^No such image: /i.test(message);
}

export class ImagePuller {
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(private readonly docker: Docker) {}

  /** Resolves once `ref` is pulled; rejects with an Error carrying the engine's message (e.g. "pull access denied …"). */
  pull(ref: string): Promise<void> {
    let p = this.pulls.get(ref);
    if (!p) {
      p = this.doPull(ref).finally(() => this.pulls.delete(ref));
      this.pulls.set(ref, p);
    }
    return p;
  }

  private async doPull(ref: string): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker.pull(ref)) as NodeJS.ReadableStream;
    } catch (err) {
      throw new Error(engineMessage(err));
    }
    // The engine answers 200 and reports a failure later, as an `error` in the progress stream.
    const output = await new Promise<PullProgress[]>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, out: PullProgress[]) => {
        if (err) reject(new Error(engineMessage(err)));
        else resolve(out);
      });
    });
    const failed = output.find((p) => p.error || p.errorDetail?.message);
    if (failed) throw new Error(failed.errorDetail?.message || failed.error);
  }
}

/** One line of the engine's pull progress. */
interface PullProgress {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}
