import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { makeCert } from '../../helpers/certs';
import { closeServer, listenLocal } from '../../helpers/listen';
import { answerProbe, PROBE_PATH } from '../../helpers/upstream';
import { kindOf, Load, send, Tally, type Outcome, CLIENT_IDLE_MS } from './load';
import { n, Recorder, within, type Drill, type DrillSize } from './report';
import { ServeProcess } from './serve-process';

const SIZES = {
  short: { restarts: 1, concurrency: 50, warm: 1_000, after: 1_000, drainDelayMs: 500, upstreamDelayMs: 20 },
  full: { restarts: 4, concurrency: 200, warm: 20_000, after: 20_000, drainDelayMs: 2000, upstreamDelayMs: 20 },
};

/**
 * Drill 3: a rolling restart. Under load, the next gateway starts, the current one gets
 * SIGTERM; the client moves to the next one when the old one refuses connections. Not one
 * request the old gateway accepted may fail.
 */
export const rollingRestart: Drill = {
  id: 'rolling-restart',
  title: 'Rolling restart (SIGTERM under load)',
  async run(size: DrillSize, log = () => undefined) {
    const s = SIZES[size];
    const r = new Recorder(this.id, size, log);
    const cert = makeCert();
    // Every request is held briefly, so that some are always in flight when the signal comes.
    const seen = new Set<string>();
    const upstream = createServer((req, res) => {
      if (answerProbe(req, res)) return;
      req.resume();
      seen.add(new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '');
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"queued"}'), s.upstreamDelayMs);
    });
    const upstreamUrl = `http://127.0.0.1:${await listenLocal(upstream)}`;
    const config = join(cert.dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        health: { probe: { path: PROBE_PATH, intervalMs: 60_000 } },
        shutdown: { drainDelayMs: s.drainDelayMs, timeoutMs: 10_000 },
        logLevel: 'info',
      }),
    );
    const args = [
      '--config',
      config,
      '--upstream',
      upstreamUrl,
      '--server-name',
      'chat.example.com',
      '--tls-cert',
      cert.certPath,
      '--tls-key',
      cert.keyPath,
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      'off',
    ];
    const gateways: ServeProcess[] = [];
    const agent = new Agent({ keepAlive: true, timeout: CLIENT_IDLE_MS, ca: cert.cert });
    let current: ServeProcess | undefined;
    const beforeSignal = new Tally();
    const afterSignal = new Tally();
    const byNext = new Tally();
    const acceptedFailures: string[] = [];
    let refused = 0;
    let races = 0;
    let backlogResets = 0;
    let load: Load | undefined;
    try {
      current = await ServeProcess.start('gateway 1', args);
      gateways.push(current);
      load = new Load(s.concurrency, Number.MAX_SAFE_INTEGER, async (i) => {
        let id = String(i);
        for (let attempt = 0; attempt < 4; attempt++) {
          const target = current!;
          const signalled = target.signalled;
          const o: Outcome = await send(`${target.url}/v1/messages?id=${id}`, { agent, ca: [cert.cert], hangAfterMs: 15_000 });
          if (o.error === 'ECONNREFUSED') {
            // Never accepted: the client moves on to the newest gateway, as a load balancer would.
            refused++;
            if (current === target) current = gateways.at(-1);
            id += 'r';
            continue;
          }
          const reached = seen.has(id);
          if (o.error && o.reusedSocket && !reached && signalled && o.status === 0) {
            // The old gateway closed an idle keep-alive connection as this request went out on
            // it: the request never reached the upstream. Retried, as RFC 9112 §9.3.1 allows
            // for an idempotent request on a reused connection; counted and reported.
            races++;
            if (current === target) current = gateways.at(-1);
            id += 'r';
            continue;
          }
          if (o.error === 'ECONNRESET' && !o.reusedSocket && !reached && signalled && o.status === 0) {
            // A fresh connection still in the kernel's accept queue when the old gateway closed
            // its listener at the end of the drain: reset before the gateway accepted it (the
            // gateway itself never cuts an accepted connection before timeoutMs), so the same
            // as a refusal. Once the load balancer has dropped the endpoint, which is what
            // drainDelayMs waits for, no connection arrives then; this client keeps connecting
            // until refused, so it sees a few. Counted and reported.
            backlogResets++;
            if (current === target) current = gateways.at(-1);
            id += 'r';
            continue;
          }
          const ok = o.status === 200 && !o.error;
          (target === gateways.at(-1) && gateways.length > 1 && !target.signalled ? byNext : signalled ? afterSignal : beforeSignal).add(kindOf(o), o.latencyMs);
          if (!ok) acceptedFailures.push(`${target.name} ${signalled ? 'after' : 'before'} the signal: ${kindOf(o)}${reached ? ' (had reached the upstream)' : ''}`);
          return;
        }
        acceptedFailures.push(`request ${i}: still refused after 4 attempts`);
      });
      const exits: string[] = [];
      for (let restart = 1; restart <= s.restarts; restart++) {
        await load.untilFinished(load.finished + s.warm);
        const next = await ServeProcess.start(`gateway ${restart + 1}`, args);
        gateways.push(next);
        const old = current!;
        const signalledAt = Date.now();
        old.terminate();
        const exit = await within(s.drainDelayMs + 10_000 + 10_000, `${old.name} exit`, old.exited);
        exits.push(`${old.name} exit ${exit.code ?? exit.signal} after ${Date.now() - signalledAt} ms`);
        r.note(`restart ${restart}: ${exits.at(-1)}; so far ${n(load.finished)} requests, ${refused} refused connections, ${races} keep-alive races`);
      }
      await load.untilFinished(load.finished + s.after);
      await load.stop();
      agent.destroy();
      const last = gateways.at(-1)!;
      last.terminate();
      const lastExit = await within(s.drainDelayMs + 20_000, `${last.name} exit`, last.exited);
      exits.push(`${last.name} exit ${lastExit.code ?? lastExit.signal}`);

      r.check(
        'zero failed requests among those the old gateway accepted before the signal',
        acceptedFailures.filter((f) => f.includes('before the signal')).length === 0 && beforeSignal.count > 0,
        `${n(beforeSignal.count)} requests: ${beforeSignal}`,
      );
      r.check(
        'zero failed requests among those it accepted during the drain',
        acceptedFailures.length === 0,
        `${n(afterSignal.count)} requests after the signal: ${afterSignal || 'none'}; new gateway before its own signal: ${byNext}${acceptedFailures.length ? `; failures: ${acceptedFailures.slice(0, 5).join('; ')}` : ''}`,
      );
      r.check(
        'every gateway stopped with exit 0 after SIGTERM',
        exits.every((e) => / exit 0/.test(e)),
        exits.join('; '),
      );
      // Stricter than the issue: a client that does not retry sees these as failures. The
      // gateway could avoid them by answering `Connection: close` while it drains.
      r.check(
        'no client saw its keep-alive connection closed under a request (full run only)',
        races === 0,
        `${races} requests went out on a kept-alive connection the old gateway closed as idle when the drain ended (never reached the upstream; retried here, an error for a client that does not retry); ${refused} connections refused and ${backlogResets} reset in the closing listener's accept queue (moved to the next gateway)`,
        { fullOnly: true },
      );
      r.figure('requests', n(load.finished));
      r.figure('restarts', String(s.restarts));
      r.figure('failed requests the old gateway accepted', String(acceptedFailures.length));
      r.figure('keep-alive close races (retried)', String(races));
      r.figure("fresh connections reset in the closing listener's accept queue (moved on)", String(backlogResets));
    } finally {
      await load?.stop();
      agent.destroy();
      for (const gw of gateways) await gw.kill();
      await closeServer(upstream);
      cert.cleanup();
    }
    return r.finish();
  },
};
