/**
 * A throwaway nats-server for a test file: Debian's `nats-server` on a free
 * port of 127.0.0.1, with its HTTP monitoring on another (to see which
 * subjects each client holds); start() once per file, stop() at the end,
 * restart() on the same ports (to test reconnection). Without nats-server the
 * tests skip with a loud notice, and fail when WSRFC_REQUIRE_SYSTEM_PACKAGES=1
 * (as CI sets, after .ci/run installed it): test/helpers/system-package.ts.
 */
import { freePort, requireSystemPackage, systemPackageSkipReason, type SystemPackage } from './system-package.js';
import { ServerProcess } from './server-process.js';

export const NATS_SERVER = process.env.NATS_SERVER_PATH ?? '/usr/sbin/nats-server';
const PACKAGE: SystemPackage = { name: 'nats-server', path: NATS_SERVER, pathVariable: 'NATS_SERVER_PATH', install: 'apt-get install -y nats-server', tests: 'NATS' };

/** The `skip` option of the NATS tests: a reason when nats-server is missing and nobody requires it, false otherwise. */
export function natsSkipReason(): string | false {
  return systemPackageSkipReason(PACKAGE);
}

export class NatsServer extends ServerProcess {
  private constructor(readonly port: number, readonly monitorPort: number) {
    super();
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<NatsServer> {
    const server = await NatsServer.reserve();
    await server.run();
    return server;
  }

  /** Free ports for a nats-server not started yet (`run()` starts it): NATS down from the start. */
  static async reserve(): Promise<NatsServer> {
    requireSystemPackage(PACKAGE);
    return new NatsServer(await freePort(), await freePort());
  }

  protected command(): { binary: string; args: string[]; readyLine: string } {
    return { binary: NATS_SERVER, args: ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort)], readyLine: 'Server is ready' };
  }

  /**
   * The subjects the server's clients are subscribed to, each with the number
   * of client connections holding it (from the monitoring endpoint /connz).
   */
  async subscriptions(): Promise<Map<string, number>> {
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/connz?subs=1&limit=1024`);
    const body = (await response.json()) as { connections?: Array<{ subscriptions_list?: string[] }> };
    const counts = new Map<string, number>();
    for (const connection of body.connections ?? []) {
      for (const subject of new Set(connection.subscriptions_list ?? [])) counts.set(subject, (counts.get(subject) ?? 0) + 1);
    }
    return counts;
  }
}
