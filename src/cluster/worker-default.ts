/**
 * "The cluster backplane is the default under workers": in a worker started
 * by runWorkers(), a server created without a `backplane` (and without its
 * own `topicRegistry`) joins the other workers' topics anyway.
 *
 * runWorkers() offers its worker's backplane here before it calls `setup`;
 * the first server to ask takes it, whether it names it (`createServer({
 * backplane })`, as `setup` is handed it) or leaves it out. A worker has one
 * IPC channel and the primary tracks topics per worker, so one server per
 * worker carries the topics; a second server in the same worker without a
 * backplane of its own stays local (give each its own broker backplane if a
 * worker must run several). Outside runWorkers() nothing is offered and
 * nothing changes.
 */
import type { Backplane } from '../server/backplane.js';

let offered: Backplane | undefined;

/** runWorkers(), in a worker: the backplane a server created without one gets. */
export function offerWorkerBackplane(backplane: Backplane): void {
  offered = backplane;
}

/**
 * The backplane a new server uses: the one it names (taking it off the
 * offer, so no other server takes it too), else the offered one if it may
 * have a default (no topicRegistry of its own), else none.
 */
export function backplaneForServer(named: Backplane | undefined, mayDefault: boolean): Backplane | undefined {
  if (named !== undefined) {
    if (named === offered) offered = undefined;
    return named;
  }
  if (!mayDefault) return undefined;
  const taken = offered;
  offered = undefined;
  return taken;
}
