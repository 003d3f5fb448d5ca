// End-to-end: the built app (dist/) plays, animates messages, steps, and stays error-free.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { serve } from './server.mjs';
import { launch, openPage, openBenchPage, loadScenario } from './browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, 'screenshots');
let server, browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = await serve(join(here, '..', 'dist'));
  browser = await launch();
});
// Temporary directories the tests write downloads and CLI output to, removed at the end.
const scratchDirs = [];
const scratch = (prefix) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
};
after(async () => {
  await browser?.close();
  await server?.close();
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

const clockNs = (page) => page.getAttribute('[data-testid="clock"]', 'data-now-ns').then(Number);

test('plays: the simulated clock advances and messages are drawn', async () => {
  const { page, problems } = await openPage(browser, server.url);
  assert.equal(await clockNs(page), 0);
  await page.fill('[data-testid="speed"]', '-100'); // 0.1×: quick enough for a test, still animated
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="message"]').length > 0, null, { timeout: 15000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 150e6, null, { timeout: 15000 });
  await page.screenshot({ path: join(shots, 'hello-playing.png') });
  assert.ok(await clockNs(page) > 150e6, 'clock advanced past 150 ms');
  assert.match(await page.textContent('[data-testid="event-log"]'), /send Produce/);
  const internals = await page.textContent('[data-testid="producer-panel"]');
  assert.match(internals, /RecordAccumulator/);
  assert.match(internals, /32\.0 MiB in use/, 'the BufferPool gauge shows buffer.memory');
  assert.match(internals, /idempotent, producer id \d+/, 'the producer id from InitProducerId');
  assert.deepEqual(problems, []);
});

test('a lingering batch is drawn filling toward batch.size', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  const scenario = {
    name: 'Batching', duration_ms: 5000, brokers: 1, network: { latency_ms: 10 },
    topics: [{ name: 'orders', partitions: 1, replication_factor: 1 }],
    producers: [{ id: 'p', config: { 'linger.ms': 1000 }, workload: { topic: 'orders', records: 100, rate_per_sec: 100, value_bytes: 100 } }],
  };
  await page.setInputFiles('[data-testid="scenario-file"]', { name: 'batching.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(scenario)) });
  await page.waitForFunction(() => document.querySelector('[data-testid="scenario-name"]').textContent === 'Batching');
  // ~0.3×: the pause must land before linger.ms (1 s) sends the batch; this leaves ~1.6 s of wall time.
  await page.fill('[data-testid="speed"]', '-50');
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 500e6, null, { timeout: 15000 });
  await page.click('[data-testid="play"]');
  const title = await page.getAttribute('[data-testid="deque-0"] .batch', 'title');
  assert.match(title, /lingering: \d+ ms left of linger\.ms/, title);
  const records = Number(await page.textContent('[data-testid="deque-0"] .batch .count'));
  // The first send blocks 20 ms on metadata (two 10 ms hops); the record due at 10 ms follows it
  // at 20 ms, then one every 10 ms. A 16 KiB batch holds ~147 of these, so nothing has left yet.
  const clockMs = Number(await page.getAttribute('[data-testid="clock"]', 'data-now-ns')) / 1e6;
  assert.equal(records, Math.floor((clockMs - 20) / 10) + 2, `records in the batch at ${clockMs} ms`);
  await page.screenshot({ path: join(shots, 'producer-internals.png'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('Space pauses and the right arrow steps one event at a time', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await page.keyboard.press('ArrowRight');
  const first = await clockNs(page);
  const lines1 = await page.locator('[data-testid="event-log"] li').count();
  await page.keyboard.press('ArrowRight');
  const lines2 = await page.locator('[data-testid="event-log"] li').count();
  assert.ok(lines2 > lines1 || lines1 === 16, 'a step adds trace lines');
  assert.ok(await clockNs(page) >= first);
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.querySelector('[data-testid="play"]').textContent.includes('Pause'));
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.querySelector('[data-testid="play"]').textContent.includes('Play'));
  const paused = await clockNs(page);
  await page.waitForTimeout(300);
  assert.equal(await clockNs(page), paused, 'clock frozen while paused');
  assert.deepEqual(problems, []);
});

test('a bad scenario file shows a one-line error naming the field', async () => {
  const { page, problems } = await openPage(browser, server.url);
  const bad = JSON.stringify({ duration_ms: 1000, brokers: 3, topics: [{ name: 'a', partitions: 1, replication_factor: 4 }] });
  await page.setInputFiles('[data-testid="scenario-file"]', { name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(bad) });
  await page.waitForSelector('[data-testid="error"]');
  assert.equal(await page.textContent('[data-testid="error"]'), 'bad.json: topics[0].replication_factor: 4 exceeds brokers (3)');
  await page.screenshot({ path: join(shots, 'bad-scenario.png') });
  assert.deepEqual(problems, []);
});

test('built-in scenarios: the machine crash of a follower shows it down, then back in sync', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await loadScenario(page, 'follower-machine-crash');
  assert.equal(await page.textContent('[data-testid="scenario-name"]'), 'Machine crash of a follower');
  await page.click('[data-testid="library"]');
  assert.equal(await page.getAttribute('[data-testid="load-follower-machine-crash"]', 'aria-pressed'), 'true');
  await page.screenshot({ path: join(shots, 'library.png') });
  await page.click('[data-testid="library"]');
  await page.fill('[data-testid="speed"]', '50'); // ~3×: the pause lands well before the 7 s restart
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 3.2e9, null, { timeout: 30000 });
  await page.click('[data-testid="play"]'); // pause while broker-3 is down
  assert.ok((await clockNs(page)) < 7e9, 'paused before the restart');
  assert.match(await page.getAttribute('[data-testid="broker-3"]', 'class'), /\bdown\b/);
  // HW/LEO of broker-3's replica: the crash lost every unflushed record.
  assert.equal(await page.textContent('[data-testid="replica-broker-3-orders-0"] .offsets'), '0/0');
  await page.screenshot({ path: join(shots, 'machine-crash.png') });
  await page.fill('[data-testid="speed"]', '200');
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="play"]').textContent.includes('Play'), null, { timeout: 30000 });
  assert.doesNotMatch(await page.getAttribute('[data-testid="broker-3"]', 'class'), /\bdown\b/);
  const leader = await page.textContent('[data-testid="replica-broker-1-orders-0"] .offsets');
  assert.equal(await page.textContent('[data-testid="replica-broker-3-orders-0"] .offsets'), leader, 'caught up');
  assert.deepEqual(problems, []);
});

test('built-in scenarios: leader failover draws the controller, the new leader and the crashed one', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await loadScenario(page, 'leader-failover');
  await page.fill('[data-testid="speed"]', '50'); // ~3×: the pause lands between the election (~6 s) and the restart (8 s)
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="replica-broker-2-orders-0"]')?.classList.contains('leader'), null, { timeout: 30000 });
  await page.click('[data-testid="play"]'); // pause while broker-2 leads and broker-1 is down
  assert.ok((await clockNs(page)) < 8e9, 'paused before broker-1 returns');
  assert.match(await page.getAttribute('[data-testid="broker-1"]', 'class'), /\bdown\b/);
  assert.match(await page.textContent('[data-testid="controller-1"]'), /fenced \[1\]/);
  // The controller's tooltip lists committed partition states: leader epoch 1 after the election.
  assert.match(await page.textContent('[data-testid="controller-1"]'), /orders-0: leader broker-2, epoch 1\//);
  await page.screenshot({ path: join(shots, 'leader-failover.png') });
  assert.deepEqual(problems, []);
});

test('built-in scenarios: an unclean election shows the cut-off followers out of sync', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await loadScenario(page, 'unclean-election');
  await page.fill('[data-testid="speed"]', '50'); // ~3×: pause between the ISR shrink (~3 s) and the crash (6 s)
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="replica-broker-2-orders-0"]')?.classList.contains('out-of-sync'), null, { timeout: 30000 });
  await page.click('[data-testid="play"]');
  assert.ok((await clockNs(page)) < 6e9, 'paused before the leader dies');
  assert.match(await page.getAttribute('[data-testid="replica-broker-3-orders-0"]', 'class'), /out-of-sync/);
  assert.doesNotMatch(await page.getAttribute('[data-testid="replica-broker-1-orders-0"]', 'class'), /out-of-sync/);
  await page.screenshot({ path: join(shots, 'unclean-election.png') });
  assert.deepEqual(problems, []);
});

test('right-click a broker to crash it (process or machine) and to restart it', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await loadScenario(page, 'leader-failover');
  await page.click('[data-testid="broker-2"]', { button: 'right' });
  await page.waitForSelector('[data-testid="fault-menu-broker-2"]');
  await page.screenshot({ path: join(shots, 'fault-menu.png') });
  await page.click('[data-testid="fault-crash-machine"]');
  await page.waitForSelector('[data-testid="fault-menu-broker-2"]', { state: 'detached' });
  assert.match(await page.getAttribute('[data-testid="broker-2"]', 'class'), /\bdown\b/);
  assert.match(await page.textContent('[data-testid="event-log"]'), /CRASH/);
  await page.click('[data-testid="broker-2"]', { button: 'right' });
  assert.equal(await page.locator('[data-testid="fault-crash-process"]').count(), 0, 'a down broker can only restart');
  await page.click('[data-testid="fault-restart"]');
  assert.doesNotMatch(await page.getAttribute('[data-testid="broker-2"]', 'class'), /\bdown\b/);
  assert.match(await page.textContent('[data-testid="event-log"]'), /RESTART/);
  assert.deepEqual(problems, []);
});

test('played to the end, the app has the same trace hash as native and browser tests (tests/golden)', async () => {
  const golden = readFileSync(join(here, '..', 'tests', 'golden', 'hello_seed1.hash'), 'utf8').trim();
  const { page, problems } = await openPage(browser, server.url);
  await page.fill('[data-testid="speed"]', '200'); // 100×
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="play"]').textContent.includes('Play'), null, { timeout: 30000 });
  assert.equal(await clockNs(page), 10_000e6, 'played to the end');
  await page.screenshot({ path: join(shots, 'hello-finished.png') });
  assert.equal(await page.textContent('[data-testid="trace-hash"]'), golden);
  assert.deepEqual(problems, []);
});

test('segments are mirrored to IndexedDB and found again after a reload', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await page.waitForFunction(() => document.querySelector('[data-testid="storage-status"]').textContent.includes('IndexedDB'));
  await page.fill('[data-testid="speed"]', '0'); // 1×
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 1500e6, null, { timeout: 15000 });
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => /IndexedDB, [1-9]\d* segment/.test(document.querySelector('[data-testid="storage-status"]').textContent));
  const mirrored = Number((await page.textContent('[data-testid="storage-status"]')).match(/(\d+) segment/)[1]);
  // One segment per replica: 3 brokers × (orders-0..2 + __consumer_offsets-0..49, which the
  // group's coordinator needs; an empty log still has its active segment).
  assert.equal(mirrored, 3 * (3 + 50), 'one segment per replica on every broker');
  await page.reload();
  await page.waitForSelector('[data-testid="storage-notice"]');
  assert.match(await page.textContent('[data-testid="storage-notice"]'), /^restored 159 stored segment\(s\) from the previous session, every batch CRC-checked$/);
  await page.screenshot({ path: join(shots, 'restored-notice.png') });
  assert.deepEqual(problems, []);
});

test('built-in scenarios: a consumer group rebalances and colours each member\'s partitions', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  await loadScenario(page, 'group-rebalance');
  await page.fill('[data-testid="speed"]', '60'); // ~4×: pause after generation 2 (~13 s), before the crash (22 s)
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => /gen 2/.test(document.querySelector('[data-testid="group-order-readers"]')?.textContent ?? '')
    && /Stable/.test(document.querySelector('[data-testid="group-order-readers"]').textContent), null, { timeout: 40000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="consumer-3"] text')[1]?.textContent !== 'p –', null, { timeout: 10000 });
  await page.click('[data-testid="play"]');
  assert.ok((await clockNs(page)) < 22e9, 'paused before consumer-2 crashes');
  assert.match(await page.textContent('[data-testid="group-order-readers"]'), /order-readers · Stable · gen 2/);
  // Range over three members: two partitions each; consumer-3 (third colour) owns orders-4 and -5.
  assert.match(await page.getAttribute('[data-testid="consumer-3"]', 'class'), /member-2/);
  assert.match(await page.textContent('[data-testid="consumer-3"]'), /p 4,5/);
  const owner = await page.getAttribute('[data-testid="replica-broker-2-orders-4"] circle.owner', 'class');
  assert.match(owner, /member-2/);
  // The coordinator's partition shows as a row of its own.
  assert.ok(await page.$('[data-testid="replica-broker-1-__consumer_offsets-15"]'));
  await page.screenshot({ path: join(shots, 'group-rebalance.png') });
  assert.deepEqual(problems, []);
});

test('the safety monitor stops playback at the event that breaks a rule and explains it', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  await loadScenario(page, 'last-replica-standing');
  await page.fill('[data-testid="speed"]', '100'); // 10×: the violation comes at ~12.5 s
  await page.click('[data-testid="play"]');
  await page.waitForSelector('[data-testid="violation"]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="play"]').textContent.includes('Play'), null, { timeout: 5000 });
  const text = await page.textContent('[data-testid="violation"]');
  assert.match(text, /Safety rule broken: CommittedLostOnElection at event #\d+/);
  assert.match(text, /broker-1 leads epoch 2 from offset 0/);
  const clock = await clockNs(page);
  assert.ok(clock > 12e9 && clock < 13e9, `frozen at the election, not later: ${clock}`);
  assert.match(await page.textContent('[data-testid="event-log"]'), /VIOLATION CommittedLostOnElection/);
  await page.screenshot({ path: join(shots, 'safety-monitor.png') });
  // Play goes on past it.
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 14e9, null, { timeout: 15000 });
  assert.deepEqual(problems, []);
});

test('the JavaScript API example runs hello.json to the same trace hash as the CLI and the app', async () => {
  const golden = readFileSync(join(here, '..', 'tests', 'golden', 'hello_seed1.hash'), 'utf8').trim();
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
  await page.goto(`${server.url}api-example.html`);
  await page.waitForFunction(() => document.querySelector('[data-testid="api-output"]').dataset.traceHash !== undefined, null, { timeout: 20000 });
  const out = JSON.parse(await page.textContent('[data-testid="api-output"]'));
  assert.equal(out.trace_hash, golden);
  assert.equal(out.stopped, 'deadline');
  assert.equal(out.now_ms, 10000);
  assert.equal(out.brokers, 3);
  assert.equal(out.acked, 150, 'hello.json sends 150 records, all acknowledged');
  assert.equal(out.acked_lost, 0);
  assert.equal(out.sends_completed, 150, 'the subscriber saw every send complete');
  assert.equal(out.events_by_kind.sends_completed, out.events_by_kind.produce_acked,
    'one sends_completed event per acknowledged batch (in hello.json a batch holds one record)');
  assert.equal(out.last_events.length, 3);
  const bad = await page.getAttribute('[data-testid="api-output"]', 'data-bad-scenario-error');
  assert.match(bad, /duration_ms/, `a bad scenario throws the CLI's one-line error: ${bad}`);
  assert.equal(await page.$('[data-testid="app"]'), null, 'data-api-only: the app is not mounted');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the benchmark page runs a workload in its worker and names a bad request; the app ships no benchmark', async () => {
  const { page, problems } = await openBenchPage(browser, server.url);
  await page.selectOption('[data-testid="bench-workload"]', 'c');
  await page.fill('[data-testid="bench-amount"]', '3000');
  await page.click('[data-testid="bench-run"]');
  await page.waitForFunction(() => /records\/s/.test(document.querySelector('[data-testid="bench-output"]').textContent), null, { timeout: 20000 });
  const shown = await page.textContent('[data-testid="bench-output"]');
  assert.match(shown, /workload\s+\(c\)/);
  assert.match(shown, /build\s+speed \(opt-level 3\)\n/);
  assert.match(shown, /records\s+3,000\n/);
  assert.match(shown, /natively: brokerscope bench --workload c --records 3000$/);
  assert.deepEqual((await page.locator('[data-testid="bench-runs"] tbody tr').first().locator('td').allTextContents()).slice(0, 3), ['(c)', 'speed', '3,000']);
  const swarm = await page.evaluate(() => window.brokerscopeBench('d', 2));
  assert.equal(swarm.workload, 'd');
  assert.equal(swarm.records, 2000, 'two swarm seeds of 1,000 records each');
  assert.ok(swarm.seeds_per_sec > 0);
  const unknown = await page.evaluate(() => window.brokerscopeBench('e', 10).then(() => 'resolved', (e) => e.message));
  assert.match(unknown, /^workload: unknown "e"/);
  const fractional = await page.evaluate(() => window.brokerscopeBench('a', 1.5).then(() => 'resolved', (e) => e.message));
  assert.match(fractional, /^amount: 1.5 is not a whole number/);
  // Still answers after refusing.
  assert.equal((await page.evaluate(() => window.brokerscopeBench('a', 500))).records, 500);
  await page.selectOption('[data-testid="bench-workload"]', 'd');
  await page.fill('[data-testid="bench-amount"]', '3');
  await page.click('[data-testid="bench-run"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="bench-runs"] tbody tr').length === 2);
  assert.equal(await page.locator('[data-testid="bench-runs"] tbody tr').first().locator('td').first().textContent(), '(d)', 'newest first');
  await page.screenshot({ path: join(shots, 'bench-page.png') });
  // The app's own (size) build is the other worker: choosing it loads the page again with it.
  await page.selectOption('[data-testid="bench-build"]', 'app');
  await page.waitForURL(/bench\.html\?build=app$/);
  await page.waitForSelector('[data-testid="bench-run"]:not([disabled])', { timeout: 20000 });
  assert.match(await page.textContent('[data-testid="bench-output"]'), /^ready \(the app build\)/);
  const app500 = await page.evaluate(() => window.brokerscopeBench('a', 500));
  assert.deepEqual([app500.build, app500.opt_level, app500.records], ['app', 'z', 500]);
  await page.goto(`${server.url}bench.html?build=toString`); // a name every object inherits
  await page.waitForFunction(() => /^error: build: unknown "toString": use speed or app$/.test(document.querySelector('[data-testid="bench-output"]').textContent));
  assert.equal(await page.$eval('[data-testid="bench-build"]', (s) => s.selectedIndex), -1, 'no build shown as running');
  await page.goto(`${server.url}bench.html?build=fast`);
  await page.waitForFunction(() => /^error: build: unknown "fast": use speed or app$/.test(document.querySelector('[data-testid="bench-output"]').textContent));
  const refused = await page.evaluate(() => window.brokerscopeBench('a', 10).then(() => 'resolved', (e) => e.message));
  assert.equal(refused, 'build: unknown "fast": use speed or app');
  assert.equal(await page.isDisabled('[data-testid="bench-run"]'), true);
  await page.close();
  const app = await openPage(browser, server.url);
  assert.equal(await app.page.evaluate(() => typeof window.wasmBindings.benchWorkload), 'undefined');
  await app.page.close();
  assert.deepEqual([...problems, ...app.problems], []);
});

test('built-in scenarios are fetched when opened, once; a missing or broken file is named and nothing else changes', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  const fetched = [];
  page.on('request', (r) => { const m = r.url().match(/scenarios\/([a-z-]+)\.json$/); if (m) fetched.push(m[1]); });
  await page.route('**/scenarios/leader-failover.json', (r) => r.fulfill({ status: 404, body: 'gone' }));
  await page.route('**/scenarios/slow-follower.json', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: '{"name": "cut short", "brokers": 3' }));
  await page.goto(`${server.url}?scenario=leader-failover&seed=9`);
  await page.waitForSelector('[data-testid="app"]');
  assert.match(await page.textContent('[data-testid="error"]'), /^scenario leader-failover: scenarios\/leader-failover\.json: HTTP 404 .*the first scenario opens instead\.$/);
  assert.equal(await page.textContent('[data-testid="scenario-name"]'), 'Hello Kafka');
  await page.click('[data-testid="library"]');
  await page.click('[data-testid="load-slow-follower"]');
  await page.waitForFunction(() => /slow-follower/.test(document.querySelector('[data-testid="error"]')?.textContent ?? ''));
  assert.match(await page.textContent('[data-testid="error"]'), /^scenario slow-follower: line 1: invalid JSON: EOF while parsing/);
  assert.equal(await page.getAttribute('[data-testid="library"]', 'aria-expanded'), 'true', 'the library stays open after a failed load');
  assert.equal(await page.textContent('[data-testid="scenario-name"]'), 'Hello Kafka', 'the run is unchanged');
  await page.click('[data-testid="load-acks-levels"]');
  await page.waitForSelector('[data-testid="library"][aria-expanded="false"]');
  assert.match(await page.textContent('[data-testid="scenario-name"]'), /^acks=0, acks=1, acks=all/);
  assert.equal(await page.$('[data-testid="error"]'), null, 'a good load clears the error');
  // Opened again: from memory, not the network.
  await loadScenario(page, 'hello');
  await loadScenario(page, 'acks-levels');
  assert.deepEqual(fetched, ['leader-failover', 'slow-follower', 'acks-levels'], 'hello is compiled in; each other is fetched once, when opened');
  // A broken file is not kept: once it is fixed, opening it again fetches and loads it.
  await page.unroute('**/scenarios/slow-follower.json');
  await loadScenario(page, 'slow-follower');
  assert.equal(await page.textContent('[data-testid="scenario-name"]'), 'Slow follower: ISR shrink and expand');
  // A slow fetch never replaces the scenario chosen after it.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/scenarios/group-rebalance.json', async (r) => { await held; await r.continue(); });
  await page.click('[data-testid="library"]');
  await page.click('[data-testid="load-group-rebalance"]');
  assert.equal(await page.getAttribute('[data-testid="load-group-rebalance"]', 'aria-busy'), 'true', 'the row says it is loading');
  await page.click('[data-testid="load-batching"]');
  await page.waitForSelector('[data-testid="library"][aria-expanded="false"]');
  release();
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/group-rebalance.json')));
  await page.waitForTimeout(300);
  assert.match(await page.textContent('[data-testid="scenario-name"]'), /^Batching/, 'the later choice stays');
  assert.deepEqual(fetched, ['leader-failover', 'slow-follower', 'acks-levels', 'slow-follower', 'group-rebalance', 'batching']);
  assert.deepEqual(problems, []);
  await page.close();
});

test('embed mode: ?embed&scenario&seed&speed&autoplay plays a built-in with minimal chrome; bad parameters are named', async () => {
  const { page, problems } = await openPage(browser, `${server.url}?embed&scenario=leader-failover&seed=3&speed=50&autoplay`, { width: 900, height: 560 });
  assert.equal(await page.textContent('[data-testid="scenario-name"]'), 'Leader failover: acks=all loses nothing');
  for (const hidden of ['event-log', 'producer-panel', 'scenario-file', 'load-hello']) {
    assert.equal(await page.$(`[data-testid="${hidden}"]`), null, `${hidden} is not shown in embed mode`);
  }
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 300e6, null, { timeout: 15000 });
  assert.match(await page.textContent('footer'), /seed 3 /);
  assert.equal(await page.inputValue('[data-testid="speed"]'), '50');
  const href = await page.getAttribute('[data-testid="open-full"]', 'href');
  assert.equal(href, './?scenario=leader-failover&seed=3&speed=50&autoplay');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `fits a 900 px iframe (overflow ${overflow} px)`);
  await page.screenshot({ path: join(shots, 'embed.png') });
  assert.deepEqual(problems, []);

  const bad = await openPage(browser, `${server.url}?scenario=nope`);
  assert.match(await bad.page.textContent('[data-testid="error"]'), /^URL parameter scenario: "nope" is not a built-in scenario/);
  assert.equal(await bad.page.textContent('[data-testid="scenario-name"]'), 'Hello Kafka', 'the defaults load');
  assert.deepEqual(bad.problems, []);

  const doc = await browser.newPage({ viewport: { width: 1000, height: 760 } });
  await doc.goto(`${server.url}embed-example.html`);
  const frame = doc.frameLocator('[data-testid="embed-frame"]');
  await frame.locator('[data-testid="cluster"]').waitFor({ timeout: 15000 });
  await doc.waitForTimeout(1500);
  await doc.screenshot({ path: join(shots, 'embed-example.png') });
  await doc.close();
});

// Everything the viewer shows that depends on the simulation state.
const shown = (page) => page.evaluate(() => ({
  clock: document.querySelector('[data-testid="clock"]').dataset.nowNs,
  hash: document.querySelector('[data-testid="trace-hash"]').textContent,
  cluster: document.querySelector('[data-testid="cluster"]').outerHTML,
  log: document.querySelector('[data-testid="event-log"]').textContent,
  producer: document.querySelector('[data-testid="producer-panel"]').textContent,
}));
const scrubTo = async (page, ms) => {
  await page.fill('[data-testid="timeline"]', String(ms * 10));
  await page.waitForFunction((ns) => document.querySelector('[data-testid="clock"]').dataset.nowNs === String(ns), ms * 1e6);
  await page.evaluate(() => document.activeElement.blur()); // arrow keys move a focused slider
};

test('scrub the timeline back and forth: the same time shows the same state', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await page.fill('[data-testid="speed"]', '100'); // 10×
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 3000e6, null, { timeout: 15000 });
  await page.click('[data-testid="play"]');
  await scrubTo(page, 1500);
  const at1500 = await shown(page);
  await scrubTo(page, 2700);
  const at2700 = await shown(page);
  assert.notEqual(at2700.hash, at1500.hash);
  await scrubTo(page, 1500);
  assert.deepEqual(await shown(page), at1500, 'back at 1.5 s: the same state');
  await scrubTo(page, 2700);
  assert.deepEqual(await shown(page), at2700, 'forward at 2.7 s: the same state');
  await page.screenshot({ path: join(shots, 'timeline-scrubbed.png') });
  // A page that never played, scrubbed straight to 1.5 s, agrees.
  const fresh = await openPage(browser, server.url);
  await scrubTo(fresh.page, 1500);
  assert.deepEqual(await shown(fresh.page), at1500, 'a fresh page scrubbed to 1.5 s');
  assert.deepEqual(problems, []);
  assert.deepEqual(fresh.problems, []);
});

test('the left arrow steps back one event at a time, to exactly the states stepped through', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await scrubTo(page, 300);
  const history = [await shown(page)];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('ArrowRight');
    history.push(await shown(page));
  }
  assert.notEqual(history[6].hash, history[0].hash);
  for (let i = 5; i >= 1; i--) {
    await page.click('[data-testid="step-back"]');
    assert.deepEqual(await shown(page), history[i], `back to step ${i}`);
  }
  await page.keyboard.press('ArrowLeft');
  const back = await shown(page);
  assert.equal(back.hash, history[0].hash, 'back before the first step');
  assert.deepEqual(problems, []);
});

test('a crash from the view is recorded: the ISR shrinks, a new leader is elected, and a copied link reopens the same state', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  await loadScenario(page, 'leader-failover');
  await scrubTo(page, 900);
  await page.click('[data-testid="broker-1"]', { button: 'right' });
  await page.click('[data-testid="fault-crash-process"]');
  assert.equal(await page.locator('[data-testid="recorded-action"]').count(), 1);
  assert.match(await page.textContent('[data-testid="recorded-action"]'), /900\.0 ms crash broker-1 \(process\)/);
  const leaderElsewhere = () => page.evaluate(() => ['broker-2', 'broker-3'].some((b) =>
    /\bleader\b/.test(document.querySelector(`[data-testid="replica-${b}-orders-0"]`)?.getAttribute('class') ?? '')));
  // broker.session.timeout.ms is 3 s: the controller fences broker-1 about 3 s after the crash at
  // 0.9 s (the scenario's own crash at 3 s would only be noticed after 6 s).
  await scrubTo(page, 3500);
  assert.equal(await leaderElsewhere(), false, 'no election before the session timeout');
  await scrubTo(page, 5000);
  assert.equal(await leaderElsewhere(), true, 'a new leader by 5 s');
  const leader = (await page.getAttribute('[data-testid="replica-broker-2-orders-0"]', 'class')).includes('leader') ? 'broker-2' : 'broker-3';
  assert.match(await page.textContent(`[data-testid="replica-${leader}-orders-0"] title`), /ISR \[(2, 3|3, 2)\]/, 'broker 1 left the ISR');
  await page.screenshot({ path: join(shots, 'ui-crash-leader-change.png') });

  await page.click('[data-testid="copy-link"]');
  const url = await page.inputValue('[data-testid="run-link"]');
  assert.match(url, /\?scenario=leader-failover&seed=\d+&speed=-150&t=\d+,\d+&actions=\d+,900000000,crash,1,process$/);
  const before = await shown(page);
  const other = await openPage(browser, url, { width: 1400, height: 1000 });
  await other.page.waitForFunction((h) => document.querySelector('[data-testid="trace-hash"]').textContent === h, before.hash, { timeout: 15000 });
  assert.deepEqual(await shown(other.page), before, 'the link reopens the same state');
  assert.equal(await other.page.textContent('[data-testid="recorded-action"]'), await page.textContent('[data-testid="recorded-action"]'));

  // Back before the crash it is undone (and still recorded, pending); then fork with another fault.
  await scrubTo(other.page, 500);
  assert.match(await other.page.getAttribute('[data-testid="recorded-action"]', 'class'), /pending/);
  assert.doesNotMatch(await other.page.getAttribute('[data-testid="broker-1"]', 'class'), /\bdown\b/);
  await other.page.click('[data-testid="broker-2"]', { button: 'right' });
  await other.page.click('[data-testid="fault-crash-machine"]');
  assert.equal(await other.page.locator('[data-testid="recorded-action"]').count(), 1, 'the fork dropped the later crash');
  await other.page.click('[data-testid="compare"]');
  await other.page.waitForSelector('[data-testid="comparison"]', { timeout: 20000 });
  const rows = await other.page.locator('[data-testid="comparison"] tbody tr').allTextContents();
  assert.equal(rows.length, 2);
  assert.match(rows[0], /^A: before the last change \(1 action\(s\)\)/);
  assert.match(rows[1], /^B: this run \(1 action\(s\)\)/);
  await other.page.screenshot({ path: join(shots, 'ab-comparison.png') });
  assert.deepEqual(problems, []);
  assert.deepEqual(other.problems, []);
});

test('a link that does not replay is named and the scenario opens at its start', async () => {
  const { page, problems } = await openPage(browser, `${server.url}?scenario=hello&t=5,1000&actions=0,0,restart,9`);
  await page.waitForSelector('[data-testid="error"]');
  assert.match(await page.textContent('[data-testid="error"]'), /^This link does not replay \(actions\[0\]: no such node: broker-9\)/);
  assert.equal(await clockNs(page), 0);
  assert.deepEqual(problems, []);
});

test('links: right-click a link to cut or slow it, and the network matrix cuts one direction', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  await scrubTo(page, 200);
  await page.click('[data-testid="link-producer-1-broker-1"] line.hit', { button: 'right' });
  await page.waitForSelector('[data-testid="link-menu-producer-1-broker-1"]');
  await page.screenshot({ path: join(shots, 'link-menu.png') });
  await page.click('[data-testid="fault-cut-both"]');
  assert.match(await page.getAttribute('[data-testid="link-producer-1-broker-1"] line.link', 'class'), /\bcut\b/);
  assert.match(await page.textContent('[data-testid="link-producer-1-broker-1"] title'), /cut both ways/);
  await page.click('[data-testid="link-broker-2-broker-3"] line.hit', { button: 'right', force: true }); // a level line has a zero-height box
  await page.click('[data-testid="fault-slow"]');
  assert.match(await page.getAttribute('[data-testid="link-broker-2-broker-3"] line.link', 'class'), /\bslow\b/);
  assert.match(await page.textContent('[data-testid="link-broker-2-broker-3"] title'), /slowed \(broker-2 → broker-3 210 ms, broker-3 → broker-2 210 ms\)/);

  await page.click('[data-testid="network-matrix"] summary');
  assert.equal(await page.textContent('[data-testid="net-producer-1-broker-1"]'), '✕');
  assert.equal(await page.textContent('[data-testid="net-broker-2-broker-3"]'), '210');
  await page.click('[data-testid="net-broker-1-broker-2"]');
  assert.equal(await page.textContent('[data-testid="net-broker-1-broker-2"]'), '✕');
  assert.equal(await page.textContent('[data-testid="net-broker-2-broker-1"]'), '', 'the other direction is untouched');
  assert.match(await page.textContent('[data-testid="link-broker-1-broker-2"] title'), /broker-1 → broker-2 cut/);
  const recorded = await page.locator('[data-testid="recorded-action"]').allTextContents();
  assert.deepEqual(recorded.map((t) => t.replace(/^[\d.]+ ms /, '')),
    ['cut producer-1 ⇄ broker-1', 'broker-2 ⇄ broker-3: 210.000ms latency', 'cut broker-1 → broker-2']);
  await page.click('[data-testid="net-producer-1-broker-1"]');
  assert.equal(await page.textContent('[data-testid="net-producer-1-broker-1"]'), '', 'healed one direction');
  assert.equal(await page.textContent('[data-testid="net-broker-1-producer-1"]'), '✕');
  await page.locator('[data-testid="network-matrix"]').screenshot({ path: join(shots, 'network-matrix.png') });
  assert.deepEqual(problems, []);
});

test('config panel: a property change at the current time is validated like the CLI, recorded, and forks in the past', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  await scrubTo(page, 1000);
  await page.click('[data-testid="config-panel"] summary');
  await page.selectOption('[data-testid="config-target"]', { label: 'producer-1' });
  assert.match(await page.textContent('[data-testid="config-set"]'), /acksall/);
  await page.fill('[data-testid="config-property"]', 'ack');
  await page.fill('[data-testid="config-value"]', '1');
  await page.click('[data-testid="config-apply"]');
  // The same words as `brokerscope run` on a scenario with this typo (after the field path).
  assert.equal(await page.textContent('[data-testid="error"]'), 'unknown producer property "ack" (did you mean "acks"?)');
  await page.fill('[data-testid="config-property"]', 'transactional.id');
  await page.fill('[data-testid="config-value"]', 'tx-1');
  await page.click('[data-testid="config-apply"]');
  assert.equal(await page.textContent('[data-testid="error"]'), 'unsupported: transactional.id');
  await page.fill('[data-testid="config-property"]', 'acks');
  await page.fill('[data-testid="config-value"]', '1');
  await page.click('[data-testid="config-apply"]');
  assert.equal(await page.locator('[data-testid="error"]').count(), 0, 'a good change clears the error');
  assert.match(await page.textContent('[data-testid="recorded-action"]'), /1000\.0 ms acks=1 on producer-1/);
  assert.match(await page.textContent('[data-testid="config-set"]'), /acks1/);
  assert.match(await page.textContent('[data-testid="event-log"]'), /acks/);
  await page.locator('[data-testid="config-panel"]').screenshot({ path: join(shots, 'config-panel.png') });
  assert.deepEqual(problems, []);
});

const BUILT_IN = ['hello', 'keys-and-partitions', 'batching', 'adaptive-partitioning', 'bufferpool-exhaustion', 'in-flight-ordering', 'idempotent-dedup',
  'acks-levels', 'slow-follower', 'min-insync-replicas', 'follower-machine-crash', 'leader-failover', 'follower-truncation',
  'unclean-election', 'last-replica-standing', 'segments-retention-compaction', 'group-rebalance', 'cooperative-rebalance',
  'auto-commit-redelivery'];

test('every library scenario plays to its end without console errors', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await page.click('[data-testid="library"]');
  const listed = await page.$$eval('.library [data-testid^="load-"]', (bs) => bs.map((b) => b.dataset.testid.slice(5)));
  assert.deepEqual(listed, BUILT_IN, 'the library lists every built-in scenario');
  await page.close();
  for (const id of BUILT_IN) {
    const run = await openPage(browser, `${server.url}?scenario=${id}&speed=200&autoplay`);
    const end = Number((await run.page.textContent('.clock-end')).match(/(\d+) ms/)[1]) * 1e6;
    // A broken safety rule pauses playback at its event; Play goes on.
    for (let i = 0; i < 20 && (await clockNs(run.page)) < end; i++) {
      await run.page.waitForFunction(() => document.querySelector('[data-testid="play"]').textContent.includes('Play'), null, { timeout: 60000 });
      if ((await clockNs(run.page)) < end) await run.page.click('[data-testid="play"]');
    }
    assert.equal(await clockNs(run.page), end, `${id} played to its end`);
    assert.deepEqual(run.problems, [], id);
    await run.page.close();
  }
  assert.deepEqual(problems, []);
});

test('the guided tour: Next jumps to each narrated moment and shows what to look at', async () => {
  const { page, problems } = await openPage(browser, `${server.url}?scenario=leader-failover`);
  const scenario = JSON.parse(readFileSync(join(here, '..', 'www', 'scenarios', 'leader-failover.json'), 'utf8'));
  const steps = scenario.narration;
  assert.ok(steps.length >= 3);
  for (let i = 0; i < steps.length; i++) {
    if (i > 0 || steps[0].at_ms > 0) await page.click('[data-testid="narration-next"]');
    await page.waitForFunction((ns) => document.querySelector('[data-testid="clock"]').dataset.nowNs === String(ns), steps[i].at_ms * 1e6);
    assert.equal(await page.textContent('[data-testid="narration-step"]'), `${i + 1}/${steps.length}`);
    assert.equal(await page.textContent('[data-testid="narration-text"]'), steps[i].text);
    if (i === 1) await page.screenshot({ path: join(shots, 'guided-tour.png') });
  }
  assert.equal(await page.isDisabled('[data-testid="narration-next"]'), true, 'the last step has no Next');
  await page.click('[data-testid="narration-prev"]');
  assert.equal(await page.textContent('[data-testid="narration-step"]'), `${steps.length - 1}/${steps.length}`);
  assert.deepEqual(problems, []);
});

const cli = join(here, '..', 'target', 'release', 'brokerscope');

test('exports: the trace equals the CLI trace, segment files equal the CLI export, the view saves as SVG and PNG', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  await scrubTo(page, 2000);
  const save = async (testid) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-testid="${testid}"]`)]);
    const path = join(scratch('bs-'), download.suggestedFilename());
    await download.saveAs(path);
    return { name: download.suggestedFilename(), bytes: readFileSync(path) };
  };
  const dir = scratch('bs-cli-');
  const hello = join(here, '..', 'www', 'scenarios', 'hello.json');
  execFileSync(cli, ['run', hello, '--until-ms', '2000', '--trace', join(dir, 'trace.jsonl')]);
  execFileSync(cli, ['export', hello, '--until-ms', '2000', '--dir', dir]);

  const trace = await save('export-trace');
  assert.equal(trace.name, 'brokerscope-hello-seed1-2000ms.jsonl');
  assert.ok(trace.bytes.length > 10000);
  assert.ok(trace.bytes.equals(readFileSync(join(dir, 'trace.jsonl'))), 'the same bytes as brokerscope run --until-ms 2000 --trace');

  await page.click('[data-testid="storage-panel"] summary');
  await page.selectOption('[data-testid="storage-replica"]', { label: 'orders-1 on broker-2' });
  assert.match(await page.textContent('[data-testid="storage-bounds"]'), /^log start 0 · HW \d+ · LEO \d+/);
  const segments = await page.locator('[data-testid="storage-segments"] tbody tr').count();
  assert.equal(segments, 1, 'one active segment at 2 s');
  for (const ext of ['log', 'index', 'timeindex']) {
    const file = await save(`download-0-${ext}`);
    assert.equal(file.name, `00000000000000000000.${ext}`);
    const want = readFileSync(join(dir, 'broker-2', 'orders-1', `00000000000000000000.${ext}`));
    assert.ok(file.bytes.equals(want), `.${ext} equals brokerscope export's`);
  }
  await page.locator('[data-testid="storage-panel"]').screenshot({ path: join(shots, 'storage-panel.png') });

  const svg = await save('export-svg');
  assert.equal(svg.name, 'brokerscope-hello-seed1-2000ms.svg');
  const text = svg.bytes.toString('utf8');
  assert.match(text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(text, /<style>[^]*--panel[^]*<\/style>/, 'the stylesheet is inlined');
  assert.match(text, /broker-3/);
  const png = await save('export-png');
  assert.equal(png.name, 'brokerscope-hello-seed1-2000ms.png');
  assert.ok(png.bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a PNG file');
  assert.equal(png.bytes.readUInt32BE(16), 2000, 'twice the canvas width');
  assert.ok(png.bytes.length > 20000, `a real picture, ${png.bytes.length} bytes`);
  assert.deepEqual(problems, []);
});

test('seed search: runs seeds in the background with a progress bar, and a failing seed opens in the viewer', async () => {
  const { page, problems } = await openPage(browser, `${server.url}?scenario=unclean-election`, { width: 1400, height: 1000 });
  await page.click('[data-testid="seed-search"] summary');
  await page.fill('[data-testid="seed-from"]', '1');
  await page.fill('[data-testid="seed-count"]', '6');
  await page.click('[data-testid="seed-start"]');
  await page.waitForSelector('[data-testid="seed-stop"]');
  // The page keeps answering while seeds run: Step works between search frames.
  await page.click('[data-testid="step"]');
  await page.waitForSelector('[data-testid="seed-start"]', { timeout: 60000 });
  assert.match(await page.textContent('[data-testid="seed-status"]'), /^6 of 6 seeds checked: [1-6] failing\.$/);
  assert.equal(await page.getAttribute('[data-testid="seed-progress"]', 'value'), '6');
  assert.equal(await page.inputValue('[data-testid="seed-count"]'), '6', 'what was typed stays while seeds run');
  const first = await page.locator('[data-testid="seed-failing"] li').first().textContent();
  assert.match(first, /^Open seed (\d+)AckedLost: orders-\d: \d+ acknowledged records lost/);
  const seed = first.match(/^Open seed (\d+)/)[1];
  // The CLI agrees: `brokerscope seeds` reports the same failing seeds.
  const report = (() => {
    try { return execFileSync(cli, ['seeds', '--scenario', join(here, '..', 'www', 'scenarios', 'unclean-election.json'), '--count', '6', '--from', '1'], { encoding: 'utf8' }); }
    catch (e) { return e.stdout; }
  })();
  const cliFailing = [...report.matchAll(/^seed (\d+): /gm)].map((m) => m[1]);
  const pageFailing = (await page.locator('[data-testid="seed-failing"] li button').allTextContents()).map((t) => t.replace('Open seed ', ''));
  // The CLI details the first five failing seeds and counts them all.
  assert.equal(pageFailing.length, Number(report.match(/: (\d+) with violations/)[1]), report);
  assert.deepEqual(pageFailing.slice(0, cliFailing.length), cliFailing, 'the same failing seeds as brokerscope seeds');
  assert.ok(cliFailing.includes(seed));
  await page.locator('[data-testid="seed-search"]').screenshot({ path: join(shots, 'seed-search.png') });
  await page.click(`[data-testid="seed-open-${seed}"]`);
  assert.match(await page.textContent('footer.keys'), new RegExp(`seed ${seed} · trace hash`));
  assert.equal(await clockNs(page), 0, 'the failing seed opens at its start');
  assert.deepEqual(problems, []);
});

test('metrics charts follow the timeline under Kafka names; the trace filters by node or partition; Why? explains the HW and a consumer', async () => {
  const { page, problems } = await openPage(browser, `${server.url}?scenario=slow-follower`, { width: 1400, height: 1000 });
  await scrubTo(page, 7000);
  const now = async (name) => Number(await page.getAttribute(`[data-testid="metric-${name}"]`, 'data-now'));
  assert.ok(await now('UnderReplicatedPartitions') >= 1, 'broker-3 left the ISR at ~6 s');
  assert.ok(await now('record-send-rate') > 0);
  await page.locator('[data-testid="metrics-panel"]').screenshot({ path: join(shots, 'metrics.png') });
  await scrubTo(page, 11500);
  assert.equal(await now('UnderReplicatedPartitions'), 0, 'back in the ISR after 9 s');
  await scrubTo(page, 7000);
  assert.ok(await now('UnderReplicatedPartitions') >= 1, 'scrubbing back shows the same value');

  await page.fill('[data-testid="log-filter"]', 'broker-3');
  const rows = await page.locator('[data-testid="event-log"] li').allTextContents();
  assert.ok(rows.length > 0);
  assert.ok(rows.every((r) => r.includes('broker-3')), rows.join('\n'));
  await page.fill('[data-testid="log-filter"]', 'no-such-thing');
  assert.match(await page.textContent('[data-testid="event-log"]'), /No recent event matches “no-such-thing”/);
  await page.fill('[data-testid="log-filter"]', '');

  await scrubTo(page, 4000);
  const leader = await page.evaluate(() => [...document.querySelectorAll('[data-testid^="replica-broker-"]')]
    .find((g) => g.dataset.testid.endsWith('-orders-0') && g.classList.contains('leader')).dataset.testid.replace('replica-', ''));
  await page.click(`[data-testid="hw-${leader}"]`, { force: true });
  const why = await page.textContent('[data-testid="why-text"]');
  assert.match(why, /^orders-0 on broker-\d \(leader, epoch 0\): HW \d+, LEO \d+\. /);
  await page.screenshot({ path: join(shots, 'why-hw.png') });
  await page.click('[data-testid="consumer-1"]');
  assert.match(await page.textContent('[data-testid="why-text"]'), /^consumer-1 is /);
  await page.click('[data-testid="why-close"]');
  assert.equal(await page.locator('[data-testid="why"]').count(), 0);
  assert.deepEqual(problems, []);
});

test('clear storage deletes what is stored: a reload finds nothing; the next run mirrors again', async () => {
  const { page, problems } = await openPage(browser, server.url);
  await scrubTo(page, 1500);
  await page.waitForFunction(() => /IndexedDB, [1-9]\d* segment/.test(document.querySelector('[data-testid="storage-status"]').textContent));
  await page.click('[data-testid="clear-storage"]');
  // "cleared" only once IndexedDB has committed the clear ("clearing…" before).
  await page.waitForFunction(() => /: cleared \(/.test(document.querySelector('[data-testid="storage-status"]').textContent));
  await page.keyboard.press('ArrowRight'); // stepping does not write while cleared
  await page.waitForTimeout(300);
  await page.reload();
  await page.waitForFunction(() => document.querySelector('[data-testid="storage-status"]').textContent.includes('IndexedDB'));
  assert.equal(await page.locator('[data-testid="storage-notice"]').count(), 0, 'nothing to restore');
  assert.deepEqual(problems, []);
});

test('producer internals: the send path, and each connection\'s in-flight window with sequence numbers', async () => {
  const { page, problems } = await openPage(browser, `${server.url}?scenario=idempotent-dedup`, { width: 1400, height: 1000 });
  // The producer ⇄ broker-1 link is cut at 2 s: max.in.flight.requests.per.connection=5 fill up.
  await scrubTo(page, 2600);
  const slots = await page.locator('[data-testid="window-broker-1"] .slot.used').allTextContents();
  assert.equal(slots.length, 5, `five requests in flight: ${slots}`);
  assert.ok(slots.every((t) => /^p0 #\d+–\d+/.test(t)), `each carries its base sequence range: ${slots}`);
  const path = await page.textContent('[data-testid="send-path"]');
  assert.match(path, /^send\(\)\d+ records.*interceptors.*serializer.*partitioner.*accumulator\d+ queued.*Sender\d+ in flight.*callbacks\d+ acked · 0 failed$/);
  await page.locator('[data-testid="producer-panel"]').screenshot({ path: join(shots, 'producer-in-flight.png') });
  assert.deepEqual(problems, []);
});

test('themes, phone width and a steady layout: dark and light screenshots, no sideways scroll at 390 px, nothing moves while playing', async () => {
  const dark = await browser.newPage({ viewport: { width: 1400, height: 1000 }, colorScheme: 'dark' });
  await dark.goto(`${server.url}?scenario=cooperative-rebalance`);
  await dark.waitForSelector('[data-testid="app"]');
  await scrubTo(dark, 12000);
  const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(17, 21, 28)', 'prefers-color-scheme: dark gives the dark palette');
  await dark.screenshot({ path: join(shots, 'dark.png'), fullPage: true });
  await dark.close();

  const { page: phone, problems } = await openPage(browser, `${server.url}?scenario=hello`, { width: 390, height: 844 });
  await scrubTo(phone, 1500);
  const overflow = await phone.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling at phone width (${overflow} px too wide)`);
  await phone.screenshot({ path: join(shots, 'phone.png'), fullPage: true });

  const { page, problems: p2 } = await openPage(browser, `${server.url}?scenario=cooperative-rebalance`);
  const boxes = () => page.evaluate(() => ['controls', 'stage', 'producers', 'event-log'].map((c) => {
    const el = document.querySelector(c === 'event-log' ? '[data-testid="event-log"]' : `.${c}`);
    const r = el.getBoundingClientRect();
    return [c, Math.round(r.x), Math.round(r.y), Math.round(r.width)];
  }));
  const before = await boxes();
  await page.fill('[data-testid="speed"]', '100');
  await page.click('[data-testid="play"]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="clock"]').dataset.nowNs) > 8e9, null, { timeout: 20000 });
  const during = await boxes();
  await page.click('[data-testid="play"]');
  assert.deepEqual(during, before, 'the main regions keep their place while animating');
  assert.deepEqual(problems, []);
  assert.deepEqual(p2, []);
});

test('a scenario opened from a file travels whole in a copied link', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  const scenario = {
    name: 'My cluster', duration_ms: 4000, brokers: 2, network: { latency_ms: 4 },
    topics: [{ name: 'events', partitions: 2, replication_factor: 2 }],
    producers: [{ id: 'p', config: { acks: 'all', 'linger.ms': 20 }, workload: { topic: 'events', records: 200, rate_per_sec: 100, key: 'k-{i%4}' } }],
  };
  await page.setInputFiles('[data-testid="scenario-file"]', { name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(scenario, null, 2)) });
  await page.waitForFunction(() => document.querySelector('[data-testid="scenario-name"]').textContent === 'My cluster');
  await scrubTo(page, 900);
  await page.click('[data-testid="broker-2"]', { button: 'right' });
  await page.click('[data-testid="fault-crash-process"]');
  await scrubTo(page, 1700);
  await page.click('[data-testid="copy-link"]');
  const url = await page.inputValue('[data-testid="run-link"]');
  assert.match(url, /\?scenario_json=[A-Za-z0-9_-]+&seed=1&speed=-150&t=\d+,1700000000&actions=\d+,900000000,crash,2,process$/);
  const before = await shown(page);
  const other = await openPage(browser, url, { width: 1400, height: 1000 });
  await other.page.waitForFunction((h) => document.querySelector('[data-testid="trace-hash"]').textContent === h, before.hash, { timeout: 15000 });
  assert.equal(await other.page.textContent('[data-testid="scenario-name"]'), 'My cluster');
  assert.deepEqual(await shown(other.page), before);
  assert.deepEqual(problems, []);
  assert.deepEqual(other.problems, []);
});

test('keyboard and touch reach the faults: Enter on a focused broker opens its menu; a long press does too', async () => {
  const { page, problems } = await openPage(browser, server.url, { width: 1400, height: 1000 });
  await scrubTo(page, 500);
  await page.focus('[data-testid="broker-2"]');
  await page.keyboard.press(' ');
  await page.waitForSelector('[data-testid="fault-menu-broker-2"]');
  assert.equal(await page.textContent('[data-testid="play"]'), '▶ Play', 'Space on a focused broker opens its menu, it does not play');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'fault-crash-process', 'the first row has the focus');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-testid="fault-menu-broker-2"]', { state: 'detached' });
  assert.match(await page.getAttribute('[data-testid="broker-2"]', 'class'), /\bdown\b/);
  assert.match(await page.textContent('[data-testid="recorded-action"]'), /crash broker-2 \(process\)/);
  // A touch held on broker-3 for longer than the long-press delay.
  await page.dispatchEvent('[data-testid="broker-3"]', 'pointerdown', { pointerType: 'touch', bubbles: true });
  await page.waitForSelector('[data-testid="fault-menu-broker-3"]', { timeout: 3000 });
  assert.deepEqual(problems, []);
});

test('Why? on a waiting batch says what the Sender waits for', async () => {
  const { page, problems } = await openPage(browser, `${server.url}?scenario=batching`, { width: 1400, height: 1000 });
  await scrubTo(page, 600);
  await page.click('[data-testid="producer-panel"] .batch');
  const why = await page.textContent('[data-testid="why-text"]');
  assert.match(why, /^producer-1's batch \d+ for audit-0: \d+ records, \d+ of \d+ bytes\. It is neither full \(batch\.size\) nor old enough: linger\.ms=1000 leaves \d+ ms/);
  assert.deepEqual(problems, []);
});
