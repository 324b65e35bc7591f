'use strict';
// Every process the harness starts goes through here: its own process group (so a kill
// takes its children too), optional CPU pinning with taskset, and a registry that kills
// whatever is left on exit, on a signal or on a crash of the harness.

const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

const live = new Set();

/** Kills every process group still alive, synchronously (safe in 'exit' handlers). */
function killAll() {
  for (const child of live) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

let installed = false;
/** Installs the harness's safety net once: nothing it started outlives it. */
function installCleanup() {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every process it started\n`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    killAll();
    process.exit(1);
  });
}

/** The command line, behind taskset when a core is given and prlimit when more files are needed. */
function command(argv, core, nofile) {
  const pinned = core === undefined || core === null ? argv : ['taskset', '-c', String(core), ...argv];
  return nofile ? ['prlimit', `--nofile=${nofile}:${nofile}`, '--', ...pinned] : pinned;
}

/** True when this process may start children with `nofile` open files (raising a hard limit needs CAP_SYS_RESOURCE). */
function canRaiseOpenFiles(nofile) {
  return spawnSync('prlimit', [`--nofile=${nofile}:${nofile}`, '--', 'true'], { stdio: 'ignore' }).status === 0;
}

/** Keeps the last few KiB of a stream for error messages. */
function tail(stream) {
  let text = '';
  stream?.on('data', (chunk) => {
    text = (text + chunk.toString()).slice(-4000);
  });
  return () => text;
}

/**
 * A running Node child (target or client) with an IPC channel. `ready` resolves with its
 * first `{type: 'ready'}` message; `message(type)` waits for the next message of a type.
 */
class NodeChild {
  constructor(name, file, { args = [], nodeArgs = [], core, nofile, env = {}, node = process.execPath, readyTimeoutMs = 15000 } = {}) {
    this.name = name;
    const argv = command([node, ...nodeArgs, file, ...args], core, nofile);
    this.proc = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...env },
    });
    this.pid = this.proc.pid;
    live.add(this);
    this.output = tail(this.proc.stdout);
    this.errors = tail(this.proc.stderr);
    this.waiters = [];
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        live.delete(this);
        this.exitCode = code ?? signal;
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal}) while waiting for ${w.type}: ${this.errors().trim()}`));
        resolve();
      }),
    );
    this.proc.on('message', (msg) => {
      const i = this.waiters.findIndex((w) => w.type === msg.type);
      if (i !== -1) this.waiters.splice(i, 1)[0].resolve(msg);
    });
    this.ready = this.message('ready', readyTimeoutMs);
  }

  /** Waits for the next message of `type`. */
  message(type, timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      if (this.exitCode !== undefined) return reject(new Error(`${this.name} is not running: ${this.errors().trim()}`));
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms. stderr: ${this.errors().trim()}`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (msg) => (clearTimeout(timer), resolve(msg)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      };
      this.waiters.push(waiter);
    });
  }

  send(msg) {
    if (this.proc.connected) this.proc.send(msg);
  }

  /** Sends `msg` and waits for the reply of `replyType`. */
  request(msg, replyType, timeoutMs) {
    const reply = this.message(replyType, timeoutMs);
    this.send(msg);
    return reply;
  }

  /** utime + stime of the process (all its threads), in seconds. */
  cpuSeconds() {
    return cpuSeconds(this.pid);
  }

  /** Minor page faults of the process so far: memory it mapped afresh and touched. */
  minorFaults() {
    return minorFaults(this.pid);
  }

  /** Resident set size in bytes. */
  rssBytes() {
    return statusBytes(this.pid, 'VmRSS');
  }

  /** Peak resident set size (the kernel's high-water mark) in bytes. */
  peakRssBytes() {
    return statusBytes(this.pid, 'VmHWM');
  }

  /** Open file descriptors, and how many of them are sockets. */
  fds() {
    const dir = `/proc/${this.pid}/fd`;
    let total = 0;
    let sockets = 0;
    for (const fd of fs.readdirSync(dir)) {
      try {
        const target = fs.readlinkSync(path.join(dir, fd));
        total++;
        if (target.startsWith('socket:')) sockets++;
      } catch {
        // closed while reading
      }
    }
    return { total, sockets };
  }

  /** Asks the child to exit cleanly, then kills its process group after `graceMs`. */
  async stop(graceMs = 5000) {
    if (this.exitCode !== undefined) return;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.kill(); // anything left in its group
  }

  kill() {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // gone
    }
    live.delete(this);
  }
}

/**
 * A server the harness starts without an IPC channel (redis-server, nginx, the gateway's own
 * bin): its own process group, pinned like the targets, killed with everything else. `ready`
 * resolves with its stdout so far once `readyLine` appears there.
 */
class Daemon {
  constructor(name, argv, { core, readyLine, readyCheck, readyTimeoutMs = 15000, env } = {}) {
    this.name = name;
    const full = command(argv, core);
    this.proc = spawn(full[0], full.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(env && { env: { ...process.env, ...env } }) });
    this.pid = this.proc.pid;
    live.add(this);
    const errors = tail(this.proc.stderr);
    let out = '';
    this.exited = new Promise((resolve) => this.proc.once('exit', () => (live.delete(this), resolve())));
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready within ${readyTimeoutMs} ms: ${out.slice(-500)}`)), readyTimeoutMs);
      this.proc.stdout.on('data', (chunk) => {
        out = (out + chunk.toString()).slice(-4000);
        if (readyLine && out.includes(readyLine)) {
          clearTimeout(timer);
          // What it printed up to then: the line may say where it listens.
          resolve(out);
        }
      });
      this.proc.once('error', (err) => (clearTimeout(timer), reject(err)));
      this.proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${name} exited (${code}): ${errors().trim() || out.slice(-500)}`))));
      // A daemon that prints nothing when it is ready (nginx) is polled instead.
      if (readyCheck) {
        const poll = () =>
          readyCheck().then(
            (ok) => (ok ? (clearTimeout(timer), resolve()) : setTimeout(poll, 50)),
            () => setTimeout(poll, 50),
          );
        poll();
      }
    });
  }

  /** utime + stime of the process, in seconds. */
  cpuSeconds() {
    return cpuSeconds(this.pid);
  }

  /** Resident set size (VmRSS), in bytes. */
  rssBytes() {
    return statusBytes(this.pid, 'VmRSS');
  }

  /** Peak resident set size (VmHWM), in bytes. */
  peakRssBytes() {
    return statusBytes(this.pid, 'VmHWM');
  }

  async stop() {
    this.kill();
    await this.exited;
  }

  kill() {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // gone
    }
    live.delete(this);
  }
}

/** A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, RssAnon, …) in bytes; NaN if absent. */
function statusBytes(pid, field) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, the state. */
function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of a pid from /proc/<pid>/stat (fields 14 and 15), in seconds. */
function cpuSeconds(pid) {
  const fields = statFields(pid);
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Minor page faults (field 10 of /proc/<pid>/stat) of the whole process. */
function minorFaults(pid) {
  return Number(statFields(pid)[7]);
}

/**
 * Runs a command to completion (wrk), in its own group, killed after `timeoutMs`.
 * Resolves with stdout; rejects with stderr on a non-zero exit.
 */
function run(argv, { core, timeoutMs }) {
  const full = command(argv, core);
  return new Promise((resolve, reject) => {
    const proc = spawn(full[0], full.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const handle = { pid: proc.pid };
    live.add(handle);
    let out = '';
    let err = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    proc.once('error', (e) => {
      clearTimeout(timer);
      live.delete(handle);
      reject(e);
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(handle);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv[0]} failed (${code ?? signal}): ${err.trim() || out.trim()}`));
    });
  });
}

/** The hard limit on open files of this process (children inherit it). */
function openFilesLimit() {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const m = /Max open files\s+(\S+)\s+(\S+)/.exec(limits);
  if (!m) return { soft: Infinity, hard: Infinity };
  const n = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m[1]), hard: n(m[2]) };
}

module.exports = { NodeChild, Daemon, run, killAll, installCleanup, cpuSeconds, statusBytes, openFilesLimit, canRaiseOpenFiles, command };
