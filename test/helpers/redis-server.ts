/**
 * A throwaway redis-server for a test file: Debian's `redis-server` on a free
 * port of 127.0.0.1, no persistence; start() once per file, stop() at the end,
 * restart() on the same port (to test reconnection). Without redis-server the
 * tests skip with a loud notice, and fail when WSRFC_REQUIRE_SYSTEM_PACKAGES=1
 * (as CI sets, after .ci/run installed it): test/helpers/system-package.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort, requireSystemPackage, systemPackageSkipReason, type SystemPackage } from './system-package.js';
import { killServer, spawnServer } from './server-process.js';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';
const PACKAGE: SystemPackage = { name: 'redis-server', path: REDIS_SERVER, pathVariable: 'REDIS_SERVER_PATH', install: 'apt-get install -y redis-server', tests: 'Redis' };

/** The `skip` option of the Redis tests: a reason when redis-server is missing and nobody requires it, false otherwise. */
export function redisSkipReason(): string | false {
  return systemPackageSkipReason(PACKAGE);
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

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

  /** Start redis-server on this.port and wait until it accepts connections. */
  async run(): Promise<void> {
    const { child, ready } = spawnServer(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], 'Ready to accept connections');
    this.child = child;
    await ready;
  }

  /** Stop redis-server (SIGKILL: an abrupt outage) and wait for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await killServer(child);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }
}
