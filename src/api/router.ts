import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for (from /vX.Y/), or the server's own for unversioned paths. */
  apiVersion: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

/** A tiny router: `/services/{id}/update` style patterns, matched segment by segment. */
export class Router {
  private routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /**
   * A view of this router (the same routes) in which every `method` route added first awaits `before`: the cluster's
   * reads wait for a Raft read barrier this way (see createApiServer).
   */
  guarded(method: string, before: () => Promise<void>): Router {
    const view = Object.create(this) as Router;
    view.add = (m, pattern, handler) => {
      const guard: Handler = async (ctx) => {
        await before();
        await handler(ctx);
      };
      this.add(m, pattern, m === method ? guard : handler);
      return view;
    };
    return view;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    const segs = path.split('/').filter(Boolean);
    for (const r of this.routes) {
      if (r.method !== method || r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i];
        if (p.startsWith('{')) {
          try {
            params[p.slice(1, -1)] = decodeURIComponent(segs[i]);
          } catch {
            ok = false;
            break;
          }
        } else if (p !== segs[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return { handler: r.handler, params };
    }
    return undefined;
  }
}
