/**
 * A throwaway redis-server for a test file: Debian's `redis-server` on a free
 * port of 127.0.0.1, no persistence; start() once per file, stop() at the end,
 * restart() on the same port (to test reconnection). Without redis-server the
 * tests skip with a loud notice, and fail when WSRFC_REQUIRE_SYSTEM_PACKAGES=1
 * (as CI sets, after .ci/run installed it): test/helpers/system-package.ts.
 */
import { freePort, requireSystemPackage, systemPackageSkipReason, type SystemPackage } from './system-package.js';
import { ServerProcess } from './server-process.js';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';
const PACKAGE: SystemPackage = { name: 'redis-server', path: REDIS_SERVER, pathVariable: 'REDIS_SERVER_PATH', install: 'apt-get install -y redis-server', tests: 'Redis' };

/** The `skip` option of the Redis tests: a reason when redis-server is missing and nobody requires it, false otherwise. */
export function redisSkipReason(): string | false {
  return systemPackageSkipReason(PACKAGE);
}

export class RedisServer extends ServerProcess {
  private constructor(readonly port: number) {
    super();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const server = await RedisServer.reserve();
    await server.run();
    return server;
  }

  /** A free port for a redis-server not started yet (`run()` starts it): Redis down from the start. */
  static async reserve(): Promise<RedisServer> {
    requireSystemPackage(PACKAGE);
    return new RedisServer(await freePort());
  }

  protected command(): { binary: string; args: string[]; readyLine: string } {
    return { binary: REDIS_SERVER, args: ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], readyLine: 'Ready to accept connections' };
  }
}
