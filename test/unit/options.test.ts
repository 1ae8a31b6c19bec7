/**
 * Options (src/options/): every option of createServer() and connect() is
 * checked before any I/O, against the one table both roles share.
 *
 * Table-driven from the rules themselves, so an option added with a rule is
 * tested without anyone writing a line: for each option, values just outside
 * what its rule accepts (one below the minimum, one above the maximum, a
 * fraction, NaN, a string...) are refused with a LocalError
 * WS_ERR_INVALID_OPTION whose message names the option and what it accepts,
 * and the edge values inside (the minimum, the maximum, Infinity where "no
 * limit" is allowed) are accepted. The server is checked through
 * createServer() itself; the client through resolveClientOptions(), which
 * is what connect() runs first, and through connect() for the refusals, over
 * a real socket to show that nothing is opened.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/client/connect.js';
import { DEFAULT_CLIENT_OPTIONS, type ClientOptions } from '../../src/client/options.js';
import { LocalError } from '../../src/errors.js';
import { DEFAULT_DEFLATE_OPTIONS, DEFLATE_OPTION_RULES, resolveDeflateOptions } from '../../src/extensions/permessage-deflate-negotiation.js';
import { DEFAULT_HTTP_HEAD_LIMITS } from '../../src/handshake/http-head-parser.js';
import { DEFAULT_MESSAGE_LIMITS } from '../../src/protocol/limits.js';
import { describeRule, MAX_TIMER_MS, type OptionRule, type OptionRules } from '../../src/options/option-rules.js';
import {
  CLIENT_OPTION_RULES,
  RECONNECTING_OPTION_RULES,
  resolveClientOptions,
  resolveReconnectingOptions,
  resolveServerOptions,
  SERVER_OPTION_RULES,
} from '../../src/options/option-tables.js';
import { DEFAULT_RECONNECT_OPTIONS } from '../../src/client/reconnect-policy.js';
import type { ReconnectingOptions } from '../../src/client/reconnecting.js';
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from '../../src/server/options.js';
import { createServer } from '../../src/server/server.js';
import { clusterBackplane } from '../../src/cluster/cluster-backplane.js';
import { runWorkers, type RunWorkersOptions } from '../../src/cluster/workers.js';
import { CLUSTER_BACKPLANE_OPTION_RULES, resolveClusterBackplaneOptions, resolveRunWorkersOptions, RUN_WORKERS_OPTION_RULES } from '../../src/options/option-tables.js';
import { REDIS_BACKPLANE_OPTION_RULES, redisBackplane, type RedisBackplaneOptions } from '../../src/redis/redis-backplane.js';
import { NATS_BACKPLANE_OPTION_RULES, natsBackplane, type NatsBackplaneOptions } from '../../src/nats/nats-backplane.js';

const TIMEOUT = { timeout: 10_000 };
const noop = (): void => {};

/** Values `rule` must refuse. */
function badValues(rule: OptionRule): unknown[] {
  switch (rule.kind) {
    case 'integer': {
      const bad: unknown[] = [rule.min - 1, rule.min + 0.5, NaN, String(rule.min), -Infinity, null];
      if (rule.max < Number.MAX_SAFE_INTEGER) bad.push(rule.max + 1);
      else bad.push(Number.MAX_SAFE_INTEGER + 2);
      if (!rule.unlimited) bad.push(Infinity);
      return bad;
    }
    case 'number':
      return [rule.min - 0.5, rule.max + 0.5, NaN, Infinity, -Infinity, String(rule.min), null];
    case 'boolean':
      return ['true', 1, null];
    case 'choice':
      return [`${rule.choices[0]}!`, String(rule.choices[0]).toUpperCase(), 1, null];
    case 'string':
      return rule.prefix === '' ? [42, null, ['a']] : [42, null, `x${rule.prefix}`];
    case 'strings':
      return [42, null, [1], ['a', null]];
    case 'function':
      return rule.orNull ? ['f', {}] : ['f', {}, null];
    case 'object':
      return ['x', 42, null, noop];
    case 'methods':
      return ['x', 42, null, {}, Object.fromEntries(rule.methods.slice(1).map((name) => [name, noop]))];
    case 'http server':
      return ['x', 42, null, {}];
    case 'section':
      return rule.orBoolean ? ['yes', 42, null, []] : ['yes', 42, null, [], true];
  }
}

/** Edge values `rule` must accept. */
function goodValues(rule: OptionRule): unknown[] {
  switch (rule.kind) {
    case 'integer':
      return [rule.min, rule.max, ...(rule.unlimited ? [Infinity] : [])];
    case 'number':
      return [rule.min, rule.max, (rule.min + rule.max) / 2];
    case 'boolean':
      return [true, false];
    case 'choice':
      return [...rule.choices];
    case 'string':
      return [`${rule.prefix}a`];
    case 'strings':
      return ['a', ['a', 'b'], []];
    case 'function':
      return rule.orNull ? [noop, null] : [noop];
    case 'object':
      return [{}];
    case 'methods':
      return [Object.fromEntries(rule.methods.map((name) => [name, name === 'start' ? async () => {} : noop]))];
    case 'http server':
      return [http.createServer(), noop];
    case 'section':
      return rule.orBoolean ? [true, false, {}] : [{}];
  }
}

interface Case {
  /** The option as its message names it: `closeTimeout`, `perMessageDeflate.level`. */
  label: string;
  /** An options object with only that option set. */
  options: (value: unknown) => Record<string, unknown>;
  rule: OptionRule;
}

/** One case per option, sections opened up: each of their own options is a case too. */
function casesOf(rules: OptionRules<object>): Case[] {
  const cases: Case[] = [];
  for (const [name, rule] of Object.entries(rules) as Array<[string, OptionRule]>) {
    cases.push({ label: name, options: (value) => ({ [name]: value }), rule });
    if (rule.kind === 'section') {
      for (const [inner, innerRule] of Object.entries(rule.rules) as Array<[string, OptionRule]>) {
        cases.push({ label: `${name}.${inner}`, options: (value) => ({ [name]: { [inner]: value } }), rule: innerRule });
      }
    }
  }
  return cases;
}

/** The error a refused `label` must raise: a LocalError, our code, naming the option and what it accepts. */
function refusal(label: string, rule: OptionRule, value: unknown): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof LocalError, `${label} = ${String(value)}: expected a LocalError, got ${String(error)}`);
    assert.equal(error.code, 'WS_ERR_INVALID_OPTION', `${label} = ${String(value)}`);
    assert.ok(error.message.startsWith(`${label} must be ${describeRule(rule)}, got `), `${label} = ${String(value)}: ${error.message}`);
    return true;
  };
}

describe('createServer(): every option is checked when the server is created', () => {
  for (const { label, options, rule } of casesOf(SERVER_OPTION_RULES as OptionRules<object>)) {
    it(`${label}: ${describeRule(rule)}`, TIMEOUT, () => {
      for (const value of badValues(rule)) {
        assert.throws(() => createServer(options(value) as ServerOptions), refusal(label, rule, value));
      }
      for (const value of goodValues(rule)) {
        assert.doesNotThrow(() => createServer(options(value) as ServerOptions), `${label} = ${String(value)}`);
      }
    });
  }

  it('the cases of the issue: closeTimeout -5 and maxMessageSize NaN are refused, naming the option and its range', TIMEOUT, () => {
    assert.throws(() => createServer({ closeTimeout: -5 }), {
      name: 'LocalError',
      code: 'WS_ERR_INVALID_OPTION',
      message: `closeTimeout must be a whole number from 1 to ${MAX_TIMER_MS} (ms), got -5`,
    });
    assert.throws(() => createServer({ maxMessageSize: NaN }), {
      code: 'WS_ERR_INVALID_OPTION',
      message: 'maxMessageSize must be a whole number ≥ 1 (bytes), or Infinity for no limit, got NaN',
    });
  });

  it('a timer longer than node:timers can wait is refused (it would fire after 1 ms)', TIMEOUT, () => {
    for (const name of ['handshakeTimeout', 'closeTimeout', 'idleTimeout', 'pingInterval', 'sendStallTimeout'] as const) {
      assert.doesNotThrow(() => createServer({ [name]: MAX_TIMER_MS }));
      assert.throws(() => createServer({ [name]: MAX_TIMER_MS + 1 }), { code: 'WS_ERR_INVALID_OPTION' }, name);
    }
  });

  it('options outside the table (none should be) pass through; not an object is refused', TIMEOUT, () => {
    assert.throws(() => createServer(42 as never), { code: 'WS_ERR_INVALID_OPTION', message: 'options must be an object, got 42' });
  });
});

describe('connect(): every option is checked before a socket is opened', () => {
  for (const { label, options, rule } of casesOf(CLIENT_OPTION_RULES as OptionRules<object>)) {
    it(`${label}: ${describeRule(rule)}`, TIMEOUT, () => {
      for (const value of badValues(rule)) {
        assert.throws(() => resolveClientOptions(options(value) as ClientOptions), refusal(label, rule, value));
      }
      for (const value of goodValues(rule)) {
        assert.doesNotThrow(() => resolveClientOptions(options(value) as ClientOptions), `${label} = ${String(value)}`);
      }
    });
  }

  describe('over a real socket', () => {
    let listener: net.Server;
    let url = '';
    let accepted = 0;
    before(async () => {
      listener = net.createServer((socket) => {
        accepted++;
        socket.destroy();
      });
      listener.listen(0, '127.0.0.1');
      await once(listener, 'listening');
      url = `ws://127.0.0.1:${(listener.address() as net.AddressInfo).port}/`;
    });
    after(() => new Promise<void>((resolve) => listener.close(() => resolve())));

    it('perMessageDeflate { level: 12 }, a negative timeout, NaN limits: connect() rejects, and no TCP connection is made', TIMEOUT, async () => {
      const bad: Array<[ClientOptions, string]> = [
        [{ perMessageDeflate: { level: 12 } }, 'perMessageDeflate.level must be a whole number from -1 to 9, got 12'],
        [{ perMessageDeflate: { serverMaxWindowBits: 16 } }, 'perMessageDeflate.serverMaxWindowBits must be a whole number from 8 to 15 (bits), got 16'],
        [{ closeTimeout: -5 }, `closeTimeout must be a whole number from 1 to ${MAX_TIMER_MS} (ms), got -5`],
        [{ maxMessageSize: NaN }, 'maxMessageSize must be a whole number ≥ 1 (bytes), or Infinity for no limit, got NaN'],
        [{ maxFrameSize: 0 }, 'maxFrameSize must be a whole number ≥ 1 (bytes), or Infinity for no limit, got 0'],
        [{ httpLimits: { maxHeadBytes: 0 } }, 'httpLimits.maxHeadBytes must be a whole number ≥ 1 (bytes), got 0'],
        [{ maskKeySource: 'random' as never }, 'maskKeySource must be a function, got "random"'],
      ];
      for (const [options, message] of bad) {
        await assert.rejects(connect(url, options), { name: 'LocalError', code: 'WS_ERR_INVALID_OPTION', message });
      }
      // A probe connection made after all of them is the first the listener sees.
      const probe = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
      probe.on('error', noop);
      await once(probe, 'close');
      assert.equal(accepted, 1, 'only the probe reached the listener');
    });
  });
});

describe('the same fault gets the same answer on both sides', () => {
  // `http2` is a different question on each side: which HTTP/2 settings a
  // server listens with, whether a client connects over HTTP/2 at all.
  const ROLE_SPECIFIC = new Set(['http2']);
  const shared = Object.keys(SERVER_OPTION_RULES).filter((name) => name in CLIENT_OPTION_RULES && !ROLE_SPECIFIC.has(name));

  it('the options both roles have obey the same rules', () => {
    assert.ok(shared.length >= 14, `shared: ${shared.join(', ')}`);
    for (const name of shared) {
      assert.deepEqual(
        (SERVER_OPTION_RULES as Record<string, OptionRule>)[name],
        (CLIENT_OPTION_RULES as Record<string, OptionRule>)[name],
        name,
      );
    }
  });

  it('and are refused with the same error and message', TIMEOUT, () => {
    for (const { label, options, rule } of casesOf(SERVER_OPTION_RULES as OptionRules<object>)) {
      if (!shared.includes(label.split('.')[0])) continue;
      for (const value of badValues(rule)) {
        let serverError: unknown;
        let clientError: unknown;
        try {
          createServer(options(value) as ServerOptions);
        } catch (error) {
          serverError = error;
        }
        try {
          resolveClientOptions(options(value) as ClientOptions);
        } catch (error) {
          clientError = error;
        }
        assert.ok(serverError instanceof LocalError && clientError instanceof LocalError, `${label} = ${String(value)}`);
        assert.equal(clientError.code, serverError.code, label);
        assert.equal(clientError.message, serverError.message, label);
      }
    }
  });
});

describe('runWorkers(), clusterBackplane(), redisBackplane(), natsBackplane(): the same rules, checked before anything forks or connects', () => {
  const setup = (() => {
    throw new Error('never called: nothing forks in these tests');
  }) as RunWorkersOptions['setup'];

  for (const { label, options, rule } of casesOf(RUN_WORKERS_OPTION_RULES as OptionRules<object>)) {
    it(`runWorkers ${label}: ${describeRule(rule)}`, TIMEOUT, async () => {
      for (const value of badValues(rule)) {
        // resolveRunWorkersOptions() is what runWorkers() runs first; runWorkers() itself is checked below.
        assert.throws(() => resolveRunWorkersOptions({ setup, ...options(value) } as RunWorkersOptions), refusal(label, rule, value));
      }
      for (const value of goodValues(rule)) {
        assert.doesNotThrow(() => resolveRunWorkersOptions({ setup, ...options(value) } as RunWorkersOptions), `${label} = ${String(value)}`);
      }
    });
  }

  it('runWorkers() rejects a bad option, a typo and a missing setup before it forks', TIMEOUT, async () => {
    await assert.rejects(runWorkers({ setup, workers: 0 }), { code: 'WS_ERR_INVALID_OPTION', message: 'workers must be a whole number from 1 to 4096 (workers), got 0' });
    await assert.rejects(runWorkers({ setup, worker: 2 } as never), { code: 'WS_ERR_INVALID_OPTION', message: /options has no option "worker"/ });
    await assert.rejects(runWorkers({} as never), { code: 'WS_ERR_INVALID_OPTION', message: 'setup must be a function, got undefined' });
    await assert.rejects(runWorkers({ setup, backplane: { maxPending: 0 } }), { code: 'WS_ERR_INVALID_OPTION', message: /^backplane\.maxPending must be/ });
  });

  for (const { label, options, rule } of casesOf(CLUSTER_BACKPLANE_OPTION_RULES as OptionRules<object>)) {
    it(`clusterBackplane ${label}: ${describeRule(rule)}`, TIMEOUT, () => {
      for (const value of badValues(rule)) assert.throws(() => clusterBackplane(options(value)), refusal(label, rule, value));
      for (const value of goodValues(rule)) assert.doesNotThrow(() => resolveClusterBackplaneOptions(options(value)), `${label} = ${String(value)}`);
    });
  }

  for (const { label, options, rule } of casesOf(REDIS_BACKPLANE_OPTION_RULES as OptionRules<object>)) {
    it(`redisBackplane ${label}: ${describeRule(rule)}`, TIMEOUT, () => {
      // Nothing connects before the server starts the backplane: these make no connection.
      for (const value of badValues(rule)) assert.throws(() => redisBackplane({ url: 'redis://127.0.0.1:1' }, options(value) as RedisBackplaneOptions), refusal(label, rule, value));
      for (const value of goodValues(rule)) assert.doesNotThrow(() => redisBackplane({ url: 'redis://127.0.0.1:1' }, options(value) as RedisBackplaneOptions), `${label} = ${String(value)}`);
    });
  }

  it('redisBackplane() refuses a typo and a target that is neither { url } nor { client }', TIMEOUT, () => {
    assert.throws(() => redisBackplane({ url: 'redis://127.0.0.1:1' }, { startTimout: 5 } as never), { code: 'WS_ERR_INVALID_OPTION', message: /options has no option "startTimout"/ });
    assert.throws(() => redisBackplane({ uri: 'redis://x' } as never), { code: 'WS_ERR_INVALID_OPTION' });
    assert.throws(() => redisBackplane({ client: {} } as never), { code: 'WS_ERR_INVALID_OPTION' });
  });

  for (const { label, options, rule } of casesOf(NATS_BACKPLANE_OPTION_RULES as OptionRules<object>)) {
    it(`natsBackplane ${label}: ${describeRule(rule)}`, TIMEOUT, () => {
      // Nothing connects before the server starts the backplane: these make no connection.
      for (const value of badValues(rule)) assert.throws(() => natsBackplane({ servers: 'nats://127.0.0.1:1' }, options(value) as NatsBackplaneOptions), refusal(label, rule, value));
      for (const value of goodValues(rule)) assert.doesNotThrow(() => natsBackplane({ servers: 'nats://127.0.0.1:1' }, options(value) as NatsBackplaneOptions), `${label} = ${String(value)}`);
    });
  }

  it('natsBackplane() refuses a typo, a prefix that would not stay literal, and a target that is neither { servers } nor { connection }', TIMEOUT, () => {
    const servers = 'nats://127.0.0.1:1';
    assert.throws(() => natsBackplane({ servers }, { startTimout: 5 } as never), { code: 'WS_ERR_INVALID_OPTION', message: /options has no option "startTimout"/ });
    for (const prefix of ['a.*.', 'a.>', '>', 'a b.', 'a\tb', '.a', 'a..b']) {
      assert.throws(() => natsBackplane({ servers }, { prefix }), { code: 'WS_ERR_INVALID_OPTION', message: /prefix must keep NATS subjects literal/ }, JSON.stringify(prefix));
    }
    for (const prefix of ['', 'wsrfc.', 'app.ws.', 'ws', 'a-b_c.']) assert.doesNotThrow(() => natsBackplane({ servers }, { prefix }), JSON.stringify(prefix));
    assert.throws(() => natsBackplane({ url: servers } as never), { code: 'WS_ERR_INVALID_OPTION' });
    assert.throws(() => natsBackplane({ servers: [] }), { code: 'WS_ERR_INVALID_OPTION' });
    assert.throws(() => natsBackplane({ servers: '' }), { code: 'WS_ERR_INVALID_OPTION' });
    assert.throws(() => natsBackplane({ connection: {} } as never), { code: 'WS_ERR_INVALID_OPTION' });
    assert.doesNotThrow(() => natsBackplane({ servers: [servers, 'nats://127.0.0.1:2'] }));
  });
});

describe('defaults', () => {
  it('an option left out or given as undefined takes its default, on both sides', () => {
    const server = resolveServerOptions({ closeTimeout: undefined, maxMessageSize: undefined });
    for (const [name, value] of Object.entries(DEFAULT_SERVER_OPTIONS)) assert.equal(server[name as keyof typeof server], value, `server ${name}`);
    const client = resolveClientOptions({ connectTimeout: undefined });
    for (const [name, value] of Object.entries(DEFAULT_CLIENT_OPTIONS)) assert.equal(client[name as keyof typeof client], value, `client ${name}`);
    assert.deepEqual(server.httpLimits, DEFAULT_HTTP_HEAD_LIMITS);
    assert.equal(server.perMessageDeflate, false);
    assert.equal(client.perMessageDeflate, false);
  });

  it('maxFrameSize is by default maxMessageSize, and never above it', () => {
    assert.equal(resolveServerOptions({}).maxFrameSize, DEFAULT_MESSAGE_LIMITS.maxMessageSize);
    assert.equal(resolveServerOptions({ maxMessageSize: 64 << 20 }).maxFrameSize, 64 << 20);
    assert.equal(resolveClientOptions({ maxMessageSize: 1000 }).maxFrameSize, 1000);
    assert.equal(resolveClientOptions({ maxMessageSize: 1000, maxFrameSize: 100 }).maxFrameSize, 100);
    assert.equal(resolveServerOptions({ maxMessageSize: 1000, maxFrameSize: Infinity }).maxFrameSize, 1000);
  });

  it('perMessageDeflate: true is every default; an object has its gaps (and undefineds) filled', () => {
    assert.deepEqual(resolveServerOptions({ perMessageDeflate: true }).perMessageDeflate, DEFAULT_DEFLATE_OPTIONS);
    assert.deepEqual(resolveClientOptions({ perMessageDeflate: { level: 1, serverMaxWindowBits: undefined } }).perMessageDeflate, {
      ...DEFAULT_DEFLATE_OPTIONS,
      level: 1,
    });
    assert.deepEqual(Object.keys(DEFLATE_OPTION_RULES).sort(), Object.keys(DEFAULT_DEFLATE_OPTIONS).sort());
  });

  it('a section refuses a name it does not have (a typo), naming what it has; the top level passes unknown names through', () => {
    assert.throws(() => createServer({ perMessageDeflate: { treshold: 0 } as never }), {
      code: 'WS_ERR_INVALID_OPTION',
      message: `perMessageDeflate has no option "treshold"; its options are ${Object.keys(DEFLATE_OPTION_RULES).join(', ')}`,
    });
    assert.throws(() => resolveClientOptions({ httpLimits: { maxHeaders: 10 } as never }), { code: 'WS_ERR_INVALID_OPTION', message: /^httpLimits has no option "maxHeaders"/ });
    assert.throws(() => resolveDeflateOptions({ zlibDeflateOptions: {} } as never), { code: 'WS_ERR_INVALID_OPTION', message: /^perMessageDeflate has no option "zlibDeflateOptions"/ });
    assert.doesNotThrow(() => createServer({ somethingElse: 1 } as never));
  });

  it('the application\'s options object is not changed', () => {
    const options = { perMessageDeflate: { level: 1 }, closeTimeout: undefined };
    resolveServerOptions(options);
    assert.deepEqual(options, { perMessageDeflate: { level: 1 }, closeTimeout: undefined });
  });
});

describe('reconnecting(): its own options are checked when it is called, before any attempt', () => {
  const reconnectRules = { reconnect: RECONNECTING_OPTION_RULES.reconnect, signal: RECONNECTING_OPTION_RULES.signal } as OptionRules<object>;
  for (const { label, options, rule } of casesOf(reconnectRules)) {
    it(`${label}: ${describeRule(rule)}`, TIMEOUT, () => {
      for (const value of badValues(rule)) {
        assert.throws(() => resolveReconnectingOptions(options(value) as ReconnectingOptions), refusal(label, rule, value));
      }
      for (const value of goodValues(rule)) {
        assert.doesNotThrow(() => resolveReconnectingOptions(options(value) as ReconnectingOptions), `${label} = ${String(value)}`);
      }
    });
  }

  it('connect()\'s options are the same rules, and the backoff has its defaults', () => {
    for (const [name, rule] of Object.entries(CLIENT_OPTION_RULES)) assert.deepEqual((RECONNECTING_OPTION_RULES as Record<string, OptionRule>)[name], rule, name);
    assert.deepEqual(resolveReconnectingOptions({}).reconnect, { ...DEFAULT_RECONNECT_OPTIONS });
    assert.throws(() => resolveReconnectingOptions({ closeTimeout: -5 }), { code: 'WS_ERR_INVALID_OPTION' });
    assert.throws(() => resolveReconnectingOptions({ reconnect: { initalDelay: 5 } as never }), { message: /reconnect has no option "initalDelay"/ });
  });
});
