#!/usr/bin/env node
// The SDK drop-in test: Amplitude's own node server SDK (@amplitude/experiment-node-server,
// pinned in package-lock.json) pointed at a running mutex-edge through its serverUrl.
//
//   node sdk.mjs --binary build/bin/mutex-edge --modules <dir with node_modules>
//                [--seed 7] [--groups 120] [--users 10000] [--workdir DIR]
//
// 1. Generates groups and users with the conformance test's generators (every bucketing key
//    kind, individuals, cohorts, unallocated shares) and serves the groups from a file.
// 2. A local evaluation client fetches GET /sdk/v2/flags and evaluates every user with the
//    SDK's own engine; a remote evaluation client fetches every user from /sdk/v2/vardata.
// 3. Every (user, group) pair must give the same slot three ways: /assign/batch, the local
//    client and the remote client; the remote answer must also equal the local one field by
//    field (key, value, payload, metadata).
// 4. Checks the routes' contract: 304 on If-None-Match, gzip when asked, 401 on a wrong or
//    missing deployment key, 400 on a bad X-Amp-Exp-User or X-Amp-Exp-Flag-Keys, the
//    flag-key filter.
//
// Users without cohort sync: the SDK's local evaluation replaces the cohort_ids of a user who
// has a user_id with the members of its synced cohorts (none here), so users with a user_id carry
// no cohort_ids; users without one keep them, and reach the slots' cohort inclusions.
//
// Exit status 0 only when every pair and every check passed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

import { Rng, generateGroups, generateUsers } from '../conformance/conformance.mjs';

const SDK_KEY = 'sdk-drop-in-deployment-key';
// Time limits scale with the build under test: MUTEX_EDGE_TEST_TIME_SCALE, which the sanitizer
// presets set (tests/support/timing.hpp for the C++ tests).
const TIME_SCALE = Math.max(1, Number(process.env.MUTEX_EDGE_TEST_TIME_SCALE) || 1);
const START_TIMEOUT_MS = 20000 * TIME_SCALE;
const REQUEST_TIMEOUT_MS = 10000 * TIME_SCALE;
const REMOTE_CONCURRENCY = 16;

const { values: args } = parseArgs({
  options: {
    binary: { type: 'string' },
    'mgmt-binary': { type: 'string' },
    modules: { type: 'string' },
    seed: { type: 'string', default: '7' },
    groups: { type: 'string', default: '120' },
    users: { type: 'string', default: '10000' },
    workdir: { type: 'string' },
  },
});
if (!args.binary || !args.modules) {
  console.error('usage: sdk.mjs --binary PATH --modules DIR [--seed N] [--groups N] [--users N]');
  process.exit(2);
}

const require = createRequire(path.join(path.resolve(args.modules), 'node_modules', 'x.js'));
const { Experiment } = require('@amplitude/experiment-node-server');
const sdkVersion = require('@amplitude/experiment-node-server/package.json').version;

/** Starts `binary` on a free port; resolves with {child, base} once it listens. */
async function startServer(binary, argv, env) {
  const child = spawn(binary, ['--listen', '127.0.0.1:0', ...argv], {
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${log}`)), START_TIMEOUT_MS);
    const read = (chunk) => {
      log += chunk;
      const m = /msg="listening" address=127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on("exit", (code) => reject(new Error(`${path.basename(binary)} exited (${code}):\n${log}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

/** Starts mutex-edge on `groupsFile`; resolves with {child, base} once /readyz answers 200. */
async function startEdge(groupsFile, more = [], env = {}) {
  const { child, base } = await startServer(
    args.binary,
    ['--config-file', groupsFile, '--threads', '2', ...more],
    { MUTEX_EDGE_SDK_KEYS: `other-key, ${SDK_KEY}`, ...env },
  );
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`not ready within ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, base };
}

const slotOf = (variant) => (variant && /^slot-\d+$/.test(variant.key ?? '') ? variant.key : null);

/** Runs `work(item)` over `items` with at most `limit` in flight. */
async function pool(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  });
  await Promise.all(runners);
  return results;
}

const b64url = (text) => Buffer.from(text).toString('base64url');

async function main() {
  const started = Date.now();
  const seed = Number(args.seed);
  const rng = new Rng(seed);
  const cohortPool = Array.from({ length: 30 }, () => rng.alnum(8));
  const users = generateUsers(rng, Number(args.users), cohortPool);
  for (const user of users) {
    // See the header: with a user_id, the SDK computes cohort_ids itself.
    if (user.user_id && user.cohort_ids !== undefined) {
      if (rng.chance(0.5)) delete user.cohort_ids;
      else delete user.user_id;
    }
  }
  const groups = generateGroups(rng, Number(args.groups), users, cohortPool);
  const workdir = args.workdir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mutex-edge-sdk-'));
  fs.mkdirSync(workdir, { recursive: true });
  const groupsFile = path.join(workdir, 'groups.json');
  fs.writeFileSync(groupsFile, JSON.stringify({ mutexes: groups }));
  const kinds = new Set(groups.map((g) => g.bucketingKey));
  const withCohorts = groups.filter((g) => g.slots.some((s) => s.cohorts.length > 0)).length;
  const withIndividuals = groups.filter((g) => g.slots.some((s) => s.individuals.length > 0)).length;
  const unallocated = groups.filter((g) => g.slots.reduce((a, s) => a + s.percentage, 0) < 100);
  console.log(
    `sdk: @amplitude/experiment-node-server ${sdkVersion}, seed ${seed}, ${groups.length} groups ` +
      `(${kinds.size} bucketing keys, ${withIndividuals} with individuals, ${withCohorts} with ` +
      `cohorts, ${unallocated.length} with an unallocated share), ${users.length} users`,
  );

  const checks = [];
  const check = (name, ok, info = '') => checks.push({ name, ok: Boolean(ok), info });
  const { child, base } = await startEdge(groupsFile);
  try {
    // 1. /assign/batch: the reference answers.
    const keys = groups.map((g) => g.key);
    const assigned = [];
    for (let i = 0; i < users.length; i += 1000) {
      const batch = users.slice(i, i + 1000).map((u) => (Object.keys(u).length ? u : { x: null }));
      const res = await fetch(`${base}/assign/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ users: batch, mutexes: keys }),
      });
      if (res.status !== 200) throw new Error(`/assign/batch: ${res.status} ${await res.text()}`);
      const body = await res.json();
      for (const r of body.results) assigned.push(r.assignments ?? null);
    }

    // 2. Local evaluation by the SDK's own engine on the flags we serve.
    const local = Experiment.initializeLocal(SDK_KEY, {
      serverUrl: base,
      flagConfigPollingIntervalMillis: 600000,
      logLevel: 0, // Disable: without cohort sync it warns of unavailable cohorts on every user
    });
    await local.start();
    const localResults = users.map((u) => local.evaluateV2(structuredClone(u)));
    local.stop();

    // 3. Remote evaluation: one /sdk/v2/vardata request per user.
    const remote = Experiment.initializeRemote(SDK_KEY, {
      serverUrl: base,
      fetchTimeoutMillis: REQUEST_TIMEOUT_MS,
      fetchRetries: 0,
    });
    const remoteResults = await pool(users, REMOTE_CONCURRENCY, (u) => remote.fetchV2(u));

    // 4. Every pair, three ways.
    let pairs = 0;
    let mismatches = 0;
    const shown = [];
    for (let u = 0; u < users.length; u++) {
      for (const key of keys) {
        pairs++;
        const ours = assigned[u]?.[key];
        const expected = ours === undefined ? 'missing' : ours.slot;
        const byLocal = slotOf(localResults[u][key]);
        const byRemote = slotOf(remoteResults[u][key]);
        const same =
          JSON.stringify(localResults[u][key]) === JSON.stringify(remoteResults[u][key]);
        if (expected !== byLocal || expected !== byRemote || !same) {
          mismatches++;
          if (shown.length < 10) {
            shown.push({ key, user: users[u], assign: ours, local: localResults[u][key],
              remote: remoteResults[u][key] });
          }
        }
      }
    }
    for (const m of shown) console.log(`mismatch: ${JSON.stringify(m)}`);
    const slots = localResults.reduce(
      (n, r) => n + Object.values(r).filter((v) => slotOf(v) !== null).length, 0);
    const inclusions = localResults.reduce(
      (n, r) => n + Object.values(r).filter((v) =>
        (v.metadata?.segmentName ?? '').endsWith('inclusions')).length, 0);
    console.log(`sdk: ${slots} pairs in a slot, ${inclusions} of them by an inclusion`);
    check('some users in slots, some by inclusion', slots > 0 && inclusions > 0);

    // 5. The routes' contract.
    const flagsRes = await fetch(`${base}/sdk/v2/flags`, { headers: { authorization: `Api-Key ${SDK_KEY}` } });
    const etag = flagsRes.headers.get('etag');
    const flagsText = await flagsRes.text();
    check('flags: 200 with an ETag', flagsRes.status === 200 && etag, `${flagsRes.status} ${etag}`);
    check('flags: one per group', JSON.parse(flagsText).length === groups.length);
    const again = await fetch(`${base}/sdk/v2/flags?v=0`, {
      headers: { authorization: `Api-Key ${SDK_KEY}`, 'if-none-match': etag },
    });
    check('flags: 304 on If-None-Match', again.status === 304, String(again.status));
    const zipped = await rawGet(`${base}/sdk/v2/flags`, {
      authorization: `Api-Key ${SDK_KEY}`, 'accept-encoding': 'gzip',
    });
    check('flags: gzip when asked',
      zipped.headers['content-encoding'] === 'gzip' &&
        zlib.gunzipSync(zipped.body).toString() === flagsText,
      `${zipped.status} ${zipped.headers['content-encoding']} ${zipped.body.length} of ` +
        `${Buffer.byteLength(flagsText)} bytes`);
    const user0 = b64url(JSON.stringify({ user_id: 'u1', device_id: 'd1' }));
    const expectError = async (name, init, status, code, url = '/sdk/v2/vardata?v=0') => {
      const res = await fetch(`${base}${url}`, init);
      const body = await res.json().catch(() => null);
      check(name, res.status === status && body?.error?.code === code && body.error.message,
        `${res.status} ${JSON.stringify(body)}`);
    };
    const auth = { authorization: `Api-Key ${SDK_KEY}` };
    await expectError('vardata: wrong key is 401',
      { headers: { authorization: 'Api-Key nope', 'x-amp-exp-user': user0 } }, 401, 'unauthorized');
    await expectError('vardata: no key is 401', { headers: { 'x-amp-exp-user': user0 } }, 401,
      'unauthorized');
    await expectError('flags: wrong key is 401', { headers: { authorization: 'Api-Key nope' } },
      401, 'unauthorized', '/sdk/v2/flags');
    await expectError('vardata: invalid base64 is 400',
      { headers: { ...auth, 'x-amp-exp-user': 'not base64!' } }, 400, 'invalid_user');
    await expectError('vardata: JSON that is not an object is 400',
      { headers: { ...auth, 'x-amp-exp-user': b64url('[1,2]') } }, 400, 'invalid_user');
    await expectError('vardata: JSON that does not parse is 400',
      { headers: { ...auth, 'x-amp-exp-user': b64url('{"user_id":') } }, 400, 'invalid_user');
    await expectError('vardata: a missing user is 400', { headers: auth }, 400, 'invalid_user');
    await expectError('vardata: bad flag keys are 400',
      { headers: { ...auth, 'x-amp-exp-user': user0, 'x-amp-exp-flag-keys': b64url('{"a":1}') } },
      400, 'invalid_request');
    const std64 = Buffer.from(JSON.stringify({ user_id: 'u1', device_id: 'd1' })).toString('base64');
    const filtered = await fetch(`${base}/sdk/v2/vardata?v=0`, {
      headers: { ...auth, 'x-amp-exp-user': std64,
        'x-amp-exp-flag-keys': b64url(JSON.stringify([keys[0], 'no-such-flag'])) },
    });
    const filteredBody = await filtered.json();
    check('vardata: standard base64 and the flag-key filter',
      filtered.status === 200 && Object.keys(filteredBody).join() === keys[0],
      JSON.stringify(filteredBody).slice(0, 200));
    const posted = await fetch(`${base}/sdk/v2/vardata?flag_key=${encodeURIComponent(keys[1])}`, {
      method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u1', device_id: 'd1' }),
    });
    const postedBody = await posted.json();
    check('vardata: POST with the user as the body, flag_key filter',
      posted.status === 200 && Object.keys(postedBody).join() === keys[1],
      JSON.stringify(postedBody).slice(0, 200));

    // 6. Cohort sync: mutex-mgmt serves the cohorts, mutex-edge syncs them (--cohort-server) and
    // serves them again (--serve-cohorts) to the SDK's own cohort sync. Users carry no
    // cohort_ids: both sides compute them from the user_id.
    if (args['mgmt-binary']) {
      const synced = await cohortPhase(groups, users, workdir, rng, check);
      pairs += synced.pairs;
      mismatches += synced.mismatches;
    }

    for (const c of checks) console.log(`check ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : ` (${c.info})`}`);
    const failedChecks = checks.filter((c) => !c.ok).length;
    console.log(`time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`sdk: ${pairs} pairs, ${mismatches} mismatches; ${checks.length - failedChecks} ` +
      `of ${checks.length} checks passed`);
    process.exitCode = mismatches === 0 && failedChecks === 0 && pairs > 0 ? 0 : 1;
    if (!args.workdir && process.exitCode === 0) fs.rmSync(workdir, { recursive: true, force: true });
  } finally {
    child.kill('SIGTERM');
  }
}

/** A GET whose body is left as sent (fetch would decompress it). */
async function rawGet(url, headers) {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

main().catch((err) => {
  console.error(`sdk: ${err.stack ?? err}`);
  process.exit(2);
});

/** The cohort-sync phase; returns {pairs, mismatches}. */
async function cohortPhase(groups, generated, workdir, rng, check) {
  const secret = 'cohort-secret-sdk-test';
  const ids = generated.map((u) => u.user_id).filter((id) => typeof id === 'string' && id !== '');
  // Every cohort the groups reference that a cohort server can name (URL-safe ids).
  const referenced = new Set(groups.flatMap((g) => g.slots.flatMap((slot) => slot.cohorts)));
  const cohorts = [...referenced].filter((id) => /^[A-Za-z0-9._~-]{1,256}$/.test(id)).map((cohortId) => ({
    cohortId,
    memberIds: [...new Set(ids.filter(() => rng.chance(0.3)))],
  }));
  const seed = path.join(workdir, 'cohorts.json');
  fs.writeFileSync(seed, JSON.stringify({ cohorts }));
  const mgmt = await startServer(
    args['mgmt-binary'],
    ['--db', path.join(workdir, 'cohorts.sqlite3'), '--cohorts-seed', seed],
    { MUTEX_MGMT_API_KEYS: 'mgmt-key', MUTEX_MGMT_COHORT_SECRET: secret },
  );
  const edge = await startEdge(path.join(workdir, 'groups.json'), [
    '--cohort-server', mgmt.base, '--serve-cohorts', '--cohort-poll-interval', '10m',
  ], { MUTEX_EDGE_COHORT_API_KEY: 'mgmt-key', MUTEX_EDGE_COHORT_SECRET_KEY: secret });
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const status = await (await fetch(`${edge.base}/status`)).json();
      const ready = new Set((status.cohorts ?? []).filter((c) => c.status === 'ready').map((c) => c.id));
      if (cohorts.every((c) => ready.has(c.cohortId))) break;
      if (Date.now() > deadline) throw new Error(`cohorts not synced: ${JSON.stringify(status.cohorts).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const users = generated.map((u) => {
      const copy = structuredClone(u);
      delete copy.cohort_ids;
      return copy;
    });
    const keys = groups.map((g) => g.key);
    const assigned = [];
    for (let i = 0; i < users.length; i += 1000) {
      const batch = users.slice(i, i + 1000).map((u) => (Object.keys(u).length ? u : { x: null }));
      const res = await fetch(`${edge.base}/assign/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ users: batch, mutexes: keys }),
      });
      if (res.status !== 200) throw new Error(`/assign/batch: ${res.status} ${await res.text()}`);
      for (const r of (await res.json()).results) assigned.push(r.assignments ?? null);
    }
    const local = Experiment.initializeLocal(SDK_KEY, {
      instanceName: 'cohort-sync', // initializeLocal keeps one client per key and name
      serverUrl: edge.base,
      flagConfigPollingIntervalMillis: 600000,
      cohortSyncConfig: {
        apiKey: SDK_KEY,
        secretKey: 'any',
        cohortServerUrl: edge.base,
        cohortPollingIntervalMillis: 600000,
      },
    });
    await local.start();
    let pairs = 0;
    let mismatches = 0;
    let byCohort = 0;
    const shown = [];
    for (let u = 0; u < users.length; u++) {
      const results = local.evaluateV2(structuredClone(users[u]));
      for (const key of keys) {
        pairs++;
        const ours = assigned[u]?.[key];
        if (ours?.reason === 'cohort') byCohort++;
        if ((ours === undefined ? 'missing' : ours.slot) !== slotOf(results[key])) {
          mismatches++;
          if (shown.length < 10) shown.push({ key, user: users[u], assign: ours, local: results[key] });
        }
      }
    }
    local.stop();
    for (const m of shown) console.log(`cohort mismatch: ${JSON.stringify(m)}`);
    console.log(`sdk: cohort sync: ${cohorts.length} cohorts, ${pairs} pairs, ${byCohort} by a ` +
      `synced cohort, ${mismatches} mismatches`);
    check('cohort sync: some users land by a synced cohort', byCohort > 0, String(byCohort));
    return { pairs, mismatches };
  } finally {
    edge.child.kill('SIGTERM');
    mgmt.child.kill('SIGTERM');
  }
}
