#!/usr/bin/env node
// Conformance test: mutex-edge's slot assignments against Amplitude's own evaluation engine.
//
//   node conformance.mjs --binary build/bin/mutex-edge --modules <dir with node_modules>
//                        [--seed 12345] [--groups 320] [--users 400] [--workdir DIR]
//
// 1. A seeded PRNG generates mutual exclusion groups (design.md section 1's shape) and users.
// 2. `mutex-edge assign --config-file groups.json` assigns every user (users.jsonl on stdin,
//    one JSON answer line per user).
// 3. Every group is translated into the flag Amplitude's engine evaluates for a mutual exclusion
//    group (design.md section 2) and evaluated with `@amplitude/experiment-core` 0.13.6.
// 4. Each (group, user) pair is one case: slot, index, reason class, experiments and holdouts
//    must agree. Besides the random groups and users, 198 groups on one salt and 200 users
//    whose hashes land exactly on every slot bound (EDGE_VALUES) catch off-by-one bounds.
// 5. The known 40/60 split (design.md section 2) is checked through the binary and through the
//    engine, one case each, plus a few whole-output checks (one case each).
//
// Exit status 0 only when every case passed.
//
// Inputs deliberately NOT generated (known out of scope: the engine gives them meanings that
// the contract does not define, or they are not valid upstream data):
//   - user_id / device_id / cohort_ids values that are strings parsing as a JSON array
//     (e.g. "[1,2]"): the engine's conditions treat them as lists. Strings that merely start
//     with "[" but do not parse ("[not-json") ARE generated.
//   - cohort_ids that is not an array, or holds non-string elements.
//   - individuals or cohorts equal to "(none)" (the engine's "value is missing" marker), to ""
//     or to "true"/"false" in any case (the engine's "is" then compares booleans
//     case-insensitively); the same for the users' cohort_ids elements.
//   - non-integer numbers, integers beyond 2^53, and objects/arrays as bucketing values (the
//     engine would bucket on String(x) / JSON.stringify(x), whose formatting is JS-specific).
//   - booleans in top-level user fields (booleans ARE generated in user_properties: the engine
//     buckets on "true"/"false").
//   - empty salts, empty bucketing keys, "gp:" with an empty name, "cohort_ids" as bucketing key.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const ENGINE_VERSION = '0.13.6';

// Top-level user fields; every other bucketing key names a user property. The C++ side uses the
// same list.
// prettier-ignore
export const TOP_LEVEL_USER_FIELDS = Object.freeze([
  'user_id', 'device_id', 'amplitude_id', 'country', 'city', 'region', 'dma', 'language',
  'platform', 'version', 'os', 'device_manufacturer', 'device_brand', 'device_model', 'carrier',
  'library', 'ip_address', 'start_version', 'paying', 'cohort_ids',
]);

// The known split of design.md section 2.
const KNOWN_SPLIT = { salt: 'aB3dE5gH', users: 100000, slot1: 40330, slot2: 59670 };

const MAX_DETAILED_MISMATCHES = 20;

// Bucketing values that land exactly on the slot bounds, found offline by brute force over
// `${EDGE_SALT}/b<n>`. With bound(C) = floor((C * 42949673 + 99) / 100) and d = floor(hash / 100),
// EDGE_VALUES[C - 1] = [n giving d = bound(C) - 1, n giving d = bound(C)] for C = 1..99, so
// `b<n>` is the last value inside and the first value past a cumulative percentage C. Random
// values hit a given bound with odds of about 1 in 4e7, so without these an off-by-one at a
// bound would go unnoticed. (Their position is confirmed through the engine at run time.)
const EDGE_SALT = 'Edg3S4lt';
const EDGE_D_ZERO = 1479154; // d = 0
const EDGE_D_MAX = 78780; // d = 42949672, the largest possible
// prettier-ignore
const EDGE_VALUES = [
  [69649269, 10230623], [49656831, 96718458], [6191782, 12948816], [11993300, 24058068],
  [70407880, 101641460], [1410855, 4009590], [99371854, 3938175], [41547623, 3365904],
  [132161585, 32124825], [34087568, 2574710], [24251105, 7276685], [161482736, 18941314],
  [21068980, 48076237], [86822839, 1717907], [1815593, 23576156], [12641749, 17389879],
  [35651796, 155320934], [36624181, 52237039], [11069659, 42697004], [70886283, 91549929],
  [118277253, 35399712], [31269582, 12599438], [58296462, 11966814], [6570662, 47936187],
  [98447525, 15800179], [33525940, 29645145], [105991910, 212341580], [138615249, 13551715],
  [47725562, 5714428], [68708929, 71833385], [39496623, 22618777], [7362110, 37443692],
  [52474851, 46890901], [13953502, 39108303], [26919932, 20007487], [23094331, 41626381],
  [22279881, 26613063], [10365250, 28847683], [29777144, 213302], [28250592, 18832885],
  [43653803, 12566100], [28472960, 6052276], [22093632, 189874249], [29774042, 69949181],
  [26021370, 7050006], [74078901, 2978556], [38518970, 5681905], [8063628, 38451784],
  [35901863, 33691339], [105433222, 50844322], [4278936, 27210892], [3473958, 63859076],
  [29138289, 2677507], [104844202, 754723], [14306479, 8819274], [47166597, 606285],
  [46946659, 13134911], [33368874, 138644381], [33080703, 23045187], [14225238, 52522294],
  [83097619, 10879767], [8324829, 13947987], [15487649, 56128958], [16409760, 128729230],
  [40919849, 1068220], [739760, 21273786], [21317449, 173649849], [156414634, 15895156],
  [20192003, 37878467], [31370149, 40808921], [15787660, 70396242], [73828624, 79076315],
  [144838363, 51049317], [2035167, 15138638], [24832931, 1841175], [14875440, 771365],
  [32159473, 33253404], [22796842, 8517672], [14470759, 19394895], [24456597, 19711057],
  [10330257, 44984392], [12671205, 15013677], [54984569, 1241332], [22690913, 22195092],
  [102299399, 27018706], [117394995, 37635978], [25485517, 90207697], [71956790, 53388236],
  [21854886, 118818984], [47529855, 24498695], [34515927, 23596462], [84577481, 4265388],
  [2398400, 30405519], [79474619, 216841950], [7028721, 81206346], [92223594, 28796],
  [18546272, 6797041], [21155348, 14175540], [30736028, 17455166],
];

// ---------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32). Math.random is never used, so a seed reproduces a run.

export class Rng {
  constructor(seed) {
    this.state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo, hi) {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Uniform integer in [0, 2^53), with all 53 bits random (next() alone gives 32). */
  safeInt() {
    return this.int(0, 2 ** 32 - 1) * 2 ** 21 + this.int(0, 2 ** 21 - 1);
  }

  chance(p) {
    return this.next() < p;
  }

  pick(items) {
    return items[this.int(0, items.length - 1)];
  }

  /** `choices` is [[weight, value-or-thunk], ...]; a function value is called. */
  weighted(choices) {
    const total = choices.reduce((sum, [w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [w, v] of choices) {
      r -= w;
      if (r < 0) return typeof v === 'function' ? v() : v;
    }
    const last = choices[choices.length - 1][1];
    return typeof last === 'function' ? last() : last;
  }

  alnum(n) {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let s = '';
    for (let i = 0; i < n; i++) s += chars[this.int(0, chars.length - 1)];
    return s;
  }

  shuffle(items) {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

// Non-ASCII fragments: 2-, 3- and 4-byte UTF-8, a combining accent, ZWJ emoji, a flag, RTL text.
// prettier-ignore
const UNICODE_BITS = [
  'é', 'ü', 'ñ', 'ß', 'ø', 'ç', 'e\u0301', 'Ω', 'Ж', 'ש', 'ع', '€', '✓', '日本', '用户', 'ユーザー',
  '한국', '🎲', '🚀', '🦄', '👩‍💻', '🇩🇪', '𝄞',
];

function unicodeString(rng, asciiLen = 4) {
  let s = '';
  const parts = rng.int(1, 3);
  for (let i = 0; i < parts; i++) {
    s += rng.pick(UNICODE_BITS) + (rng.chance(0.6) ? rng.alnum(rng.int(1, asciiLen)) : '');
  }
  return s;
}

function uuid(rng) {
  const hex = () => rng.int(0, 0xffff).toString(16).padStart(4, '0');
  return `${hex()}${hex()}-${hex()}-4${hex().slice(1)}-a${hex().slice(1)}-${hex()}${hex()}${hex()}`;
}

// ---------------------------------------------------------------------------------------------
// Users

const COUNTRIES = [
  'US',
  'DE',
  'FR',
  'JP',
  'BR',
  'España',
  "Côte d'Ivoire",
  '中国',
  'Россия',
  'US ',
];
const PLATFORMS = ['iOS', 'Android', 'Web', 'macOS', 'Windows', 'ios', 'Apple TV 📺'];
const OSES = ['iOS 17.2', 'Android 14', 'Windows 11', 'Ubuntu 22.04', 'HarmonyOS 鸿蒙'];
const LANGUAGES = ['en', 'en-US', 'de-DE', 'fr', '日本語', 'pt-BR', 'zh-Hans'];
const CITIES = ['Zürich', 'São Paulo', '東京', 'New York', 'Kraków', 'Reykjavík', 'München'];
const REGIONS = ['Bavaria', 'California', 'Île-de-France', 'Kantō'];
const PLANS = ['free', 'pro', 'enterprise', 'Pro ✨', 'team', 'FREE', 'trial-2024'];

/**
 * A string or number id with the variety the binary must handle; `undefined` means "leave the
 * field out". Never "", never a JSON array string, never true/false/(none) (see header).
 */
function genIdValue(rng, prefix) {
  return rng.weighted([
    [30, () => `${prefix}-${rng.int(1, 99999)}`],
    [8, () => `${rng.alnum(6).toLowerCase()}@example.com`],
    [10, () => `${prefix}-${unicodeString(rng)}`],
    [4, () => `${rng.pick(['🦄', '👩‍💻', '🇩🇪'])}${rng.int(1, 999)}`],
    [3, () => ` ${prefix}-${rng.int(1, 999)} `], // padded: must not be trimmed
    [2, () => rng.pick(['[not-json', '[', '[1,2', '[user'])], // starts with "[", not an array
    [2, () => 'x'.repeat(rng.int(100, 300))], // long, many murmur blocks
    [6, () => rng.int(1000000000, 9999999999)], // JSON integer
    [3, () => rng.int(0, 99)], // small integer, including 0
    [1, () => -rng.int(1, 99999)],
    [8, undefined],
    [6, null],
    [5, ''],
  ]);
}

function genAmplitudeId(rng) {
  return rng.weighted([
    [60, () => rng.safeInt()],
    [8, () => rng.int(100000, 99999999)],
    [3, 0],
    [8, () => String(rng.int(100000000, 999999999))],
    [10, undefined],
    [6, null],
    [5, ''],
  ]);
}

/** A plain string field (country, city...), sometimes missing, null, empty. */
function genField(rng, values) {
  return rng.weighted([
    [70, () => rng.pick(values)],
    [8, () => unicodeString(rng)],
    [10, undefined],
    [6, null],
    [6, ''],
  ]);
}

function genUserProperties(rng) {
  const shape = rng.weighted([
    [8, 'missing'],
    [3, 'null'],
    [5, 'empty'],
    [84, 'object'],
  ]);
  if (shape === 'missing') return undefined;
  if (shape === 'null') return null;
  if (shape === 'empty') return {};
  const props = {};
  const set = (k, v) => {
    if (v !== undefined) props[k] = v;
  };
  set(
    'plan',
    rng.weighted([
      [55, () => rng.pick(PLANS)],
      [6, () => unicodeString(rng)],
      [8, () => rng.int(0, 5000)],
      [8, () => rng.chance(0.5)], // boolean: the engine buckets on "true"/"false"
      [10, undefined],
      [7, null],
      [6, ''],
    ]),
  );
  set(
    'tier',
    rng.weighted([
      [40, () => rng.int(0, 5)],
      [25, () => `tier-${rng.int(1, 5)}`],
      [8, () => rng.chance(0.5)],
      [15, undefined],
      [6, null],
      [6, ''],
    ]),
  );
  set(
    'score',
    rng.weighted([
      [50, () => rng.safeInt()],
      [10, () => rng.int(-1000, 1000)],
      [40, undefined],
    ]),
  );
  // A user property with the same name as a top-level field: only `gp:country` reads it.
  set(
    'country',
    rng.weighted([
      [25, () => rng.pick(COUNTRIES)],
      [75, undefined],
    ]),
  );
  set(
    'signup_source',
    rng.weighted([
      [30, () => rng.pick(['ads', 'organic', 'référence'])],
      [70, undefined],
    ]),
  );
  return props;
}

function genCohortIds(rng, cohortPool) {
  return rng.weighted([
    [30, undefined],
    [15, () => []],
    [
      55,
      () => {
        const ids = [];
        const n = rng.int(1, 5);
        for (let i = 0; i < n; i++) {
          ids.push(rng.chance(0.85) ? rng.pick(cohortPool) : rng.alnum(8));
        }
        if (rng.chance(0.1)) ids.push(''); // the engine drops empty elements
        return ids;
      },
    ],
  ]);
}

export function generateUsers(rng, count, cohortPool) {
  const users = [];
  for (let i = 0; i < count; i++) {
    // A few users with no fields at all, always including the first one.
    if (i === 0 || rng.chance(0.02)) {
      users.push({});
      continue;
    }
    const user = {};
    const set = (k, v) => {
      if (v !== undefined) user[k] = v;
    };
    set('user_id', genIdValue(rng, 'user'));
    set('device_id', rng.chance(0.6) ? uuid(rng) : genIdValue(rng, 'device'));
    set('amplitude_id', genAmplitudeId(rng));
    set('country', genField(rng, COUNTRIES));
    set('platform', genField(rng, PLATFORMS));
    set('os', genField(rng, OSES));
    set('language', genField(rng, LANGUAGES));
    set('city', genField(rng, CITIES));
    if (rng.chance(0.2)) set('region', genField(rng, REGIONS));
    set('user_properties', genUserProperties(rng));
    set('cohort_ids', genCohortIds(rng, cohortPool));
    // Field order should not matter to the binary.
    users.push(rng.chance(0.1) ? Object.fromEntries(rng.shuffle(Object.entries(user))) : user);
  }
  return users;
}

// ---------------------------------------------------------------------------------------------
// Groups

/** `n` integer percentages, each >= 1, summing to `total` (n <= total <= 100). */
function genPercentages(rng, n, total) {
  const cuts = rng.shuffle(Array.from({ length: total - 1 }, (_, i) => i + 1)).slice(0, n - 1);
  cuts.sort((a, b) => a - b);
  const bounds = [0, ...cuts, total];
  return bounds.slice(1).map((b, i) => b - bounds[i]);
}

function genSalt(rng) {
  return rng.weighted([
    [75, () => rng.alnum(8)],
    [10, () => `${rng.alnum(3)}${unicodeString(rng, 2)}`],
    [5, () => `${rng.pick(['🎲', '🚀', '🦄'])}${rng.alnum(5)}${rng.pick(['✓', '𝄞'])}`],
    [5, () => `${rng.alnum(3)}/${rng.alnum(3)}`], // the salt/value separator inside the salt
    [5, () => rng.alnum(rng.int(1, 40))],
  ]);
}

// prettier-ignore
const BUCKETING_KEYS = [
  [15, 'user_id'], [15, 'device_id'], [15, 'amplitude_id'],
  [5, 'country'], [5, 'platform'], [5, 'os'], [5, 'language'], [5, 'city'], [2, 'region'],
  [8, 'plan'], [5, 'tier'], [2, 'score'], [6, 'gp:plan'], [3, 'gp:tier'], [3, 'gp:country'],
  [1, 'signup_source'], [1, 'gp:nonexistent'],
];

/**
 * Values the binary can match as individuals: the users' user_id/device_id as the engine
 * stringifies them (numbers become decimal strings), plus amplitude ids, which must NOT match.
 */
function individualPools(users) {
  const ids = new Set();
  const amplitudeIds = new Set();
  for (const u of users) {
    for (const k of ['user_id', 'device_id']) {
      const v = u[k];
      if ((typeof v === 'string' && v !== '') || typeof v === 'number') {
        ids.add(String(v));
      }
    }
    if (u.amplitude_id !== undefined && u.amplitude_id !== null && u.amplitude_id !== '') {
      amplitudeIds.add(String(u.amplitude_id));
    }
  }
  return { ids: [...ids], amplitudeIds: [...amplitudeIds] };
}

function genSlotLists(rng, pools, cohortPool) {
  const individuals = [];
  if (rng.chance(0.3)) {
    const n = rng.int(1, 6);
    for (let i = 0; i < n; i++) {
      individuals.push(
        rng.weighted([
          [pools.ids.length > 0 ? 60 : 0, () => rng.pick(pools.ids)],
          [pools.amplitudeIds.length > 0 ? 8 : 0, () => rng.pick(pools.amplitudeIds)],
          [22, () => `user-${rng.int(1, 99999)}`],
          [10, () => unicodeString(rng)],
        ]),
      );
    }
  }
  const cohorts = [];
  if (rng.chance(0.2)) {
    const n = rng.int(1, 3);
    for (let i = 0; i < n; i++) cohorts.push(rng.chance(0.8) ? rng.pick(cohortPool) : rng.alnum(8));
  }
  return { individuals, cohorts };
}

function makeGroup(
  i,
  { salt, bucketingKey, percentages, slotOrder = 'sorted', key, noInclusions = false },
  rng,
  pools,
  cohortPool,
) {
  const slots = percentages.map((percentage, k) => ({
    name: `SLOT ${k + 1}`,
    index: k + 1,
    variantKey: `slot-${k + 1}`,
    percentage,
    experiments: Array.from({ length: rng.int(0, 3) }, () => rng.int(10000, 999999)),
    holdouts: Array.from({ length: rng.int(0, 2) }, () => rng.int(10000, 999999)),
    ...(noInclusions ? { individuals: [], cohorts: [] } : genSlotLists(rng, pools, cohortPool)),
  }));
  // The same id (or cohort) in two slots: only the first slot in index order may win. Also a
  // user's user_id in a later slot than their device_id.
  if (!noInclusions && slots.length >= 2 && rng.chance(0.3)) {
    const [a, b] = rng.shuffle(slots.map((_, k) => k)).slice(0, 2);
    const kind = rng.int(0, 2);
    if (kind === 0 && pools.ids.length > 0) {
      const id = rng.pick(pools.ids);
      slots[a].individuals.push(id);
      slots[b].individuals.push(id);
    } else if (kind === 1) {
      const cohort = rng.pick(cohortPool);
      slots[a].cohorts.push(cohort);
      slots[b].cohorts.push(cohort);
    } else if (kind === 2) {
      const nonEmpty = (v) => typeof v === 'string' && v !== '';
      const u = rng.pick(pools.users.filter((x) => nonEmpty(x.user_id) && nonEmpty(x.device_id)));
      if (u) {
        slots[Math.max(a, b)].individuals.push(u.user_id);
        slots[Math.min(a, b)].individuals.push(u.device_id);
      }
    }
  }
  if (slotOrder === 'reversed') slots.reverse();
  if (slotOrder === 'shuffled') rng.shuffle(slots);
  return {
    id: 100000 + i,
    projectId: rng.pick([123456, 654321]),
    name: rng.chance(0.1) ? `Gruppe ${i} ${unicodeString(rng)}` : `Mutex group ${i}`,
    key: key ?? `mutex-${i}-${rng.alnum(4).toLowerCase()}`,
    description: rng.chance(0.5) ? '' : `Generated group ${i}`,
    evaluationMode: rng.pick(['local', 'remote']),
    bucketingKey,
    bucketingSalt: salt,
    slots,
  };
}

export function generateGroups(rng, count, users, cohortPool) {
  const pools = { ...individualPools(users), users };
  // A few fixed shapes first, so they exist at any --groups size >= 8.
  const fixed = [
    { salt: KNOWN_SPLIT.salt, bucketingKey: 'device_id', percentages: [40, 60] },
    { salt: 'sält🎲', bucketingKey: 'user_id', percentages: [100] },
    { salt: rng.alnum(8), bucketingKey: 'amplitude_id', percentages: [1] },
    { salt: rng.alnum(8), bucketingKey: 'amplitude_id', percentages: [99] },
    { salt: rng.alnum(8), bucketingKey: 'user_id', percentages: Array(20).fill(5) },
    { salt: rng.alnum(8), bucketingKey: 'gp:plan', percentages: [1, 99] },
    { salt: rng.alnum(8), bucketingKey: 'device_id', percentages: Array(20).fill(1) },
    { salt: rng.alnum(8), bucketingKey: 'plan', percentages: [30, 30, 30], slotOrder: 'reversed' },
  ];
  const groups = [];
  for (let i = 0; i < count; i++) {
    let spec = fixed[i];
    if (!spec) {
      // Every tenth group has one slot of 100%, every tenth one slot under 100%, every tenth 20
      // slots; the rest 1..20 slots. About a third of all groups sum to under 100%.
      const kind = i % 10;
      const n = kind <= 1 ? 1 : kind === 2 ? 20 : rng.int(1, 20);
      const under = kind === 0 ? false : kind === 1 ? true : rng.chance(1 / 3);
      const total = under ? rng.int(n, 99) : 100;
      spec = {
        salt: genSalt(rng),
        bucketingKey: rng.weighted(BUCKETING_KEYS),
        percentages: genPercentages(rng, n, total),
        slotOrder: rng.weighted([
          [92, 'sorted'],
          [5, 'reversed'],
          [3, 'shuffled'],
        ]),
      };
    }
    groups.push(makeGroup(i, spec, rng, pools, cohortPool));
  }
  return groups;
}

/**
 * Groups on EDGE_SALT whose bounds the edge users straddle: for every C in 1..99, one slot of C%
 * (unallocated past it) and two slots C% / (100-C)%.
 */
export function generateEdgeGroups(rng, firstIndex) {
  const groups = [];
  const none = { ids: [], amplitudeIds: [], users: [] };
  for (let c = 1; c <= 99; c++) {
    for (const [kind, percentages] of [
      ['single', [c]],
      ['pair', [c, 100 - c]],
    ]) {
      const spec = {
        salt: EDGE_SALT,
        bucketingKey: 'user_id',
        percentages,
        key: `edge-${c}-${kind}`,
        noInclusions: true,
      };
      groups.push(makeGroup(firstIndex + groups.length, spec, rng, none, []));
    }
  }
  return groups;
}

/** Users with user_id `b<n>` for every EDGE_VALUES entry, d = 0 and the largest d. */
export function generateEdgeUsers() {
  const ns = [EDGE_D_ZERO, EDGE_D_MAX, ...EDGE_VALUES.flat()];
  return ns.map((n) => ({ user_id: `b${n}` }));
}

// ---------------------------------------------------------------------------------------------
// Translation into Amplitude's flag representation (design.md section 2)

// Bucket bounds in integer arithmetic: d = floor(hash / 100) lies in 0..42949672.
const rangeStart = (c) => Number((BigInt(c) * 42949672n) / 100n);
const rangeEnd = (c) => Number((BigInt(c) * 42949673n + 99n) / 100n);

export function bucketSelector(bucketingKey) {
  if (bucketingKey.startsWith('gp:')) {
    return ['context', 'user', 'user_properties', bucketingKey.slice(3)];
  }
  if (TOP_LEVEL_USER_FIELDS.includes(bucketingKey)) {
    return ['context', 'user', bucketingKey];
  }
  return ['context', 'user', 'user_properties', bucketingKey];
}

const sortedSlots = (group) => [...group.slots].sort((a, b) => a.index - b.index);

const isSingleFullSlot = (group) => group.slots.length === 1 && group.slots[0].percentage === 100;

export const ALL_OTHER_USERS = 'All Other Users';

/** Inclusion conditions of one slot, OR'ed; empty lists are left out. */
function inclusionConditions(slot) {
  const conditions = [];
  if (slot.individuals.length > 0) {
    conditions.push([
      { selector: ['context', 'user', 'user_id'], op: 'is', values: slot.individuals },
    ]);
    conditions.push([
      { selector: ['context', 'user', 'device_id'], op: 'is', values: slot.individuals },
    ]);
  }
  if (slot.cohorts.length > 0) {
    conditions.push([
      { selector: ['context', 'user', 'cohort_ids'], op: 'set contains any', values: slot.cohorts },
    ]);
  }
  return conditions;
}

export function groupToFlag(group) {
  const slots = sortedSlots(group);
  const variants = { off: { key: 'off', metadata: { default: true } } };
  for (const slot of slots) {
    const key = `slot-${slot.index}`;
    variants[key] = { key, value: key, payload: { flagIds: slot.experiments.map(String) } };
  }
  variants.unallocated = { key: 'unallocated', value: 'unallocated' };

  const segments = [];
  for (const slot of slots) {
    const conditions = inclusionConditions(slot);
    if (conditions.length === 0) continue;
    segments.push({
      metadata: { segmentName: `slot-${slot.index} inclusions` },
      variant: `slot-${slot.index}`,
      conditions,
    });
  }

  if (isSingleFullSlot(group)) {
    segments.push({
      metadata: { segmentName: ALL_OTHER_USERS },
      variant: `slot-${slots[0].index}`,
    });
  } else {
    const distributions = [];
    let cumulative = 0;
    for (const slot of slots) {
      const start = distributions.length === 0 ? 0 : rangeStart(cumulative);
      cumulative += slot.percentage;
      distributions.push({ variant: `slot-${slot.index}`, range: [start, rangeEnd(cumulative)] });
    }
    if (cumulative < 100) {
      distributions.push({ variant: 'unallocated', range: [rangeStart(cumulative), 42949673] });
    }
    segments.push({
      metadata: { segmentName: ALL_OTHER_USERS },
      bucket: {
        selector: bucketSelector(group.bucketingKey),
        salt: group.bucketingSalt,
        allocations: [{ range: [0, 100], distributions }],
      },
      variant: 'off',
    });
  }

  return {
    key: group.key,
    metadata: {
      flagType: 'mutual-exclusion-group',
      flagVersion: 1,
      evaluationMode: group.evaluationMode,
    },
    variants,
    segments,
  };
}

// ---------------------------------------------------------------------------------------------
// Expected answers from the engine

/** The engine's `select` (experiment-core 0.13.6). */
function select(target, selector) {
  let value = target;
  for (const element of selector) {
    if (!element || !value || typeof value !== 'object') return undefined;
    value = value[element];
  }
  return value === null ? undefined : value;
}

/** The engine's coerceString. */
function coerceString(value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * What a correct binary answers for (group, user): the slot from Amplitude's engine, plus the
 * reasons the contract allows for it.
 */
function expectedAssignment(engine, group, flag, user) {
  const result = engine.evaluate({ user }, [flag])[flag.key];
  const variant = result?.key;
  const slotIndex = /^slot-\d+$/.test(variant ?? '') ? Number(variant.slice(5)) : null;
  const segment = result?.metadata?.segmentName;

  if (slotIndex === null) {
    const value = coerceString(select({ context: { user } }, bucketSelector(group.bucketingKey)));
    return {
      slot: null,
      index: null,
      variant: variant ?? null,
      segment: segment ?? null,
      reasons: [value ? 'unallocated' : 'no_bucketing_value'],
    };
  }

  const slot = group.slots.find((s) => s.index === slotIndex);
  let reasons;
  if (segment === ALL_OTHER_USERS) {
    reasons = [isSingleFullSlot(group) ? 'all' : 'bucket'];
  } else {
    // An inclusion segment: individual, cohort or (both matched) either one.
    const target = { context: { user }, result: {} };
    const conditions = inclusionConditions(slot);
    const byIndividual = engine.evaluateConditions(
      target,
      conditions.filter((c) => c[0].op === 'is'),
    );
    const byCohort = engine.evaluateConditions(
      target,
      conditions.filter((c) => c[0].op !== 'is'),
    );
    reasons = [...(byIndividual ? ['individual'] : []), ...(byCohort ? ['cohort'] : [])];
  }
  return {
    slot: `slot-${slotIndex}`,
    index: slotIndex,
    variant,
    segment,
    reasons,
    experiments: slot.experiments,
    holdouts: slot.holdouts,
  };
}

const sameIntList = (a, b) =>
  Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);

/** Problems with the binary's entry for one group, compared with the expectation. */
function compareEntry(ours, theirs) {
  if (ours === undefined) return ['no entry for this group'];
  if (ours === null || typeof ours !== 'object') return ['entry is not an object'];
  const problems = [];
  const show = JSON.stringify;
  if (ours.slot !== theirs.slot) {
    problems.push(`slot ${show(ours.slot)} != ${show(theirs.slot)}`);
  }
  if (ours.index !== theirs.index) {
    problems.push(`index ${show(ours.index)} != ${show(theirs.index)}`);
  }
  if (!theirs.reasons.includes(ours.reason)) {
    problems.push(`reason ${show(ours.reason)} not in ${show(theirs.reasons)}`);
  }
  for (const k of ['experiments', 'holdouts']) {
    if (theirs.slot !== null) {
      if (!sameIntList(ours[k], theirs[k])) problems.push(`${k} differ from the slot's`);
    } else if (ours[k] !== undefined && ours[k] !== null && !sameIntList(ours[k], [])) {
      // The contract does not say what a slot-less answer lists: nothing or empty lists.
      problems.push(`${k} not empty without a slot`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Running the binary

/**
 * Non-ASCII characters as \u escapes (surrogate pairs for astral ones), so that the binary's
 * JSON parser has to decode escapes too.
 */
const asciiEscapeJson = (json) =>
  json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function runAssign(binary, groupsFile, usersText) {
  const run = spawnSync(binary, ['assign', '--config-file', groupsFile], {
    input: usersText,
    encoding: 'utf8',
    maxBuffer: 2 ** 31 - 1,
    timeout: 300000,
  });
  const failure = run.error
    ? `could not run: ${run.error.message}`
    : run.status !== 0
      ? `exit status ${run.status ?? run.signal}: ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`
      : null;
  const lines = (run.stdout ?? '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return { failure, lines };
}

const parseLine = (line) => {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
};

// ---------------------------------------------------------------------------------------------

class Tally {
  constructor() {
    this.passed = 0;
    this.failed = 0;
    this.details = [];
    this.checks = [];
  }

  /** A (group, user) pair. */
  pair(problems, detail) {
    if (problems.length === 0) {
      this.passed++;
      return;
    }
    this.failed++;
    if (this.details.length < MAX_DETAILED_MISMATCHES) this.details.push({ problems, ...detail() });
  }

  /** A whole-run check, counted as one case. */
  check(name, ok, info = '') {
    ok ? this.passed++ : this.failed++;
    this.checks.push({ name, ok, info });
  }
}

function loadEngine(modulesDir) {
  const packageDir = path.resolve(modulesDir, 'node_modules', '@amplitude', 'experiment-core');
  if (!fs.existsSync(path.join(packageDir, 'package.json'))) {
    throw new Error(
      `${packageDir} not found: run npm ci in a copy of this folder's package.json and package-lock.json, and pass that folder as --modules`,
    );
  }
  const require = createRequire(path.join(packageDir, 'package.json'));
  const { version } = require('./package.json');
  if (version !== ENGINE_VERSION) {
    throw new Error(
      `${packageDir} is version ${version}, expected ${ENGINE_VERSION} (npm ci in the folder of package.json)`,
    );
  }
  return require(packageDir);
}

function checkKnownSplit(engine, binary, workdir, tally) {
  const group = {
    id: 1,
    projectId: 1,
    name: 'Known split',
    key: 'known-split',
    description: '',
    evaluationMode: 'local',
    bucketingKey: 'device_id',
    bucketingSalt: KNOWN_SPLIT.salt,
    slots: [40, 60].map((percentage, k) => ({
      name: `SLOT ${k + 1}`,
      index: k + 1,
      variantKey: `slot-${k + 1}`,
      percentage,
      experiments: [],
      holdouts: [],
      individuals: [],
      cohorts: [],
    })),
  };
  const groupsFile = path.join(workdir, 'split-groups.json');
  fs.writeFileSync(groupsFile, JSON.stringify({ mutexes: [group] }));
  const ids = Array.from({ length: KNOWN_SPLIT.users }, (_, i) => String(i + 1));
  const want = `slot-1 ${KNOWN_SPLIT.slot1}, slot-2 ${KNOWN_SPLIT.slot2}`;

  // Through Amplitude's engine.
  const flag = groupToFlag(group);
  const engineSlots = ids.map(
    (id) => engine.evaluate({ user: { device_id: id } }, [flag])[flag.key]?.key ?? null,
  );
  const count = (slots, s) => slots.reduce((n, x) => n + (x === s ? 1 : 0), 0);
  const engineGot = `slot-1 ${count(engineSlots, 'slot-1')}, slot-2 ${count(engineSlots, 'slot-2')}`;
  tally.check(
    'known split (Amplitude engine)',
    engineGot === want,
    `got ${engineGot}, want ${want}`,
  );

  // Through the binary; every single answer must also equal the engine's.
  const { failure, lines } = runAssign(
    binary,
    groupsFile,
    ids.map((id) => JSON.stringify({ device_id: id })).join('\n') + '\n',
  );
  const binarySlots = lines.map((line) => parseLine(line)?.assignments?.['known-split']?.slot);
  const disagreeing = engineSlots.filter((s, i) => (binarySlots[i] ?? null) !== s).length;
  const binaryGot = `slot-1 ${count(binarySlots, 'slot-1')}, slot-2 ${count(binarySlots, 'slot-2')}`;
  tally.check(
    'known split (binary)',
    !failure && lines.length === ids.length && binaryGot === want && disagreeing === 0,
    failure ??
      `got ${binaryGot} over ${lines.length} lines (${disagreeing} answers differ from the engine), want ${want}`,
  );
}

/** The edge users really sit on both sides of every bound, according to the engine. */
function checkEdgeValues(engine, tally) {
  // The one-slot groups of C% = 1..99, in order.
  const flags = generateEdgeGroups(new Rng(0), 0)
    .filter((g) => g.key.endsWith('-single'))
    .map(groupToFlag);
  const variantOf = (n, flag) =>
    engine.evaluate({ user: { user_id: `b${n}` } }, [flag])[flag.key]?.key;
  const wrong = [];
  EDGE_VALUES.forEach(([inside, past], k) => {
    const got = [variantOf(inside, flags[k]), variantOf(past, flags[k])];
    if (got[0] !== 'slot-1' || got[1] !== 'unallocated') wrong.push(`${k + 1}%: ${got.join('/')}`);
  });
  if (variantOf(EDGE_D_ZERO, flags[0]) !== 'slot-1') wrong.push('d = 0 not in 1%');
  if (variantOf(EDGE_D_MAX, flags[98]) !== 'unallocated') wrong.push('largest d in 99%');
  const info = wrong.slice(0, 5).join(', ');
  tally.check('edge values straddle every bound (engine)', wrong.length === 0, info);
}

function printMismatch(m, n) {
  console.log(`--- mismatch ${n}: ${m.problems.join('; ')}`);
  if (m.group) console.log(`group:  ${JSON.stringify(m.group)}`);
  if (m.user !== undefined) console.log(`user:   ${JSON.stringify(m.user)}`);
  console.log(`ours:   ${JSON.stringify(m.ours)}`);
  if (m.theirs) console.log(`theirs: ${JSON.stringify(m.theirs)}`);
}

function main() {
  const { values: opts } = parseArgs({
    options: {
      binary: { type: 'string' },
      modules: { type: 'string' },
      seed: { type: 'string', default: '12345' },
      groups: { type: 'string', default: '320' },
      users: { type: 'string', default: '400' },
      workdir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (opts.help || !opts.binary || !opts.modules) {
    console.log(
      'usage: node conformance.mjs --binary PATH --modules DIR [--seed N] [--groups N] [--users N] [--workdir DIR]',
    );
    process.exit(opts.help ? 0 : 2);
  }
  const seed = Number(opts.seed);
  const groupCount = Number(opts.groups);
  const userCount = Number(opts.users);
  if (
    ![seed, groupCount, userCount].every(Number.isSafeInteger) ||
    groupCount < 1 ||
    userCount < 1
  ) {
    console.error(
      'conformance: --seed, --groups and --users must be integers (groups and users >= 1)',
    );
    process.exit(2);
  }
  const binary = path.resolve(opts.binary);
  const engine = new (loadEngine(opts.modules).EvaluationEngine)();
  const ownWorkdir = !opts.workdir;
  const workdir = opts.workdir
    ? path.resolve(opts.workdir)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'mutex-edge-conformance-'));
  fs.mkdirSync(workdir, { recursive: true });
  const started = Date.now();

  // Generate and write the inputs.
  const rng = new Rng(seed);
  const cohortPool = Array.from({ length: 30 }, () => rng.alnum(8));
  const users = generateUsers(rng, userCount, cohortPool);
  const groups = generateGroups(rng, groupCount, users, cohortPool);
  groups.push(...generateEdgeGroups(rng, groups.length));
  users.push(...generateEdgeUsers());
  const groupsFile = path.join(workdir, 'groups.json');
  fs.writeFileSync(groupsFile, JSON.stringify({ mutexes: groups }, null, 1));
  const userLines = users.map((u) =>
    rng.chance(0.1) ? asciiEscapeJson(JSON.stringify(u)) : JSON.stringify(u),
  );
  fs.writeFileSync(path.join(workdir, 'users.jsonl'), userLines.join('\n') + '\n');
  console.log(
    `conformance: seed ${seed}, ${groups.length} groups, ${users.length} users ` +
      `(${groupCount} and ${userCount} random, the rest on slot bounds), workdir ${workdir}`,
  );

  const tally = new Tally();
  const { failure, lines } = runAssign(binary, groupsFile, userLines.join('\n') + '\n');
  tally.check('assign ran and exited 0', !failure, failure ?? '');
  tally.check(
    'one output line per user',
    lines.length === users.length,
    `${lines.length} lines for ${users.length} users`,
  );

  const flags = groups.map(groupToFlag);
  const knownKeys = new Set(groups.map((g) => g.key));
  const versions = new Set();
  let unknownKeys = 0;
  const expectedReasons = {};
  for (let u = 0; u < users.length; u++) {
    const answer = lines[u] === undefined ? undefined : parseLine(lines[u]);
    const assignments = answer?.assignments;
    let lineProblem = null;
    if (lines[u] === undefined) {
      lineProblem = 'no output line';
    } else if (answer === undefined) {
      lineProblem = 'output line is not JSON';
    } else if (assignments === null || typeof assignments !== 'object') {
      lineProblem = 'no "assignments" object';
    } else {
      versions.add(JSON.stringify(answer.version));
      unknownKeys += Object.keys(assignments).filter((k) => !knownKeys.has(k)).length;
    }
    for (let g = 0; g < groups.length; g++) {
      const theirs = expectedAssignment(engine, groups[g], flags[g], users[u]);
      for (const r of theirs.reasons) expectedReasons[r] = (expectedReasons[r] ?? 0) + 1;
      const ours = lineProblem ? undefined : assignments[groups[g].key];
      const problems = lineProblem ? [lineProblem] : compareEntry(ours, theirs);
      tally.pair(problems, () => ({
        group: groups[g],
        user: users[u],
        ours: lineProblem ? (lines[u] ?? null) : ours,
        theirs,
      }));
    }
  }
  const versionList = [...versions];
  tally.check(
    'one numeric version on every line',
    versionList.length === 1 && typeof JSON.parse(versionList[0] ?? 'null') === 'number',
    `versions seen: ${versionList.join(', ') || 'none'}`,
  );
  tally.check(
    'no assignments for unknown groups',
    unknownKeys === 0,
    `${unknownKeys} unknown keys`,
  );

  console.log(
    `expected reasons: ${Object.entries(expectedReasons)
      .map(([r, n]) => `${r} ${n}`)
      .join(', ')}`,
  );
  checkEdgeValues(engine, tally);
  checkKnownSplit(engine, binary, workdir, tally);

  // Report.
  tally.details.forEach((m, i) => printMismatch(m, i + 1));
  for (const c of tally.checks)
    console.log(`check ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.info ? ` (${c.info})` : ''}`);
  const cases = tally.passed + tally.failed;
  console.log(`time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (ownWorkdir && tally.failed === 0) fs.rmSync(workdir, { recursive: true, force: true });
  else console.log(`inputs kept in ${workdir}`);
  console.log(`${tally.passed} passed, ${tally.failed} failed`);
  console.log(`conformance: ${cases} cases, ${tally.failed} mismatches`);
  process.exitCode = tally.failed === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main();
  } catch (err) {
    console.error(`conformance: ${err.message ?? err}`);
    process.exit(2);
  }
}
