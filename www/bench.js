// The browser benchmark page: runs a standard workload in a benchmark worker and prints its
// figures. Trunk builds two (index.html): src/bin/bench_worker.rs for speed, as the native binary
// is (bench_worker_bg.wasm, the default), and src/bin/bench_worker_app.rs for size, exactly as
// the app is (bench_worker_app_bg.wasm, `?build=app`); each is loaded by its shim.
// `window.brokerscopeBench(workload, amount)` resolves to the figures object (the fields of
// `brokerscope bench --json` plus wasm_memory_bytes and build); e2e/perf.test.mjs uses it.
const out = document.getElementById('out');
const button = document.getElementById('run');

const BUILDS = { speed: 'bench_worker_loader.js', app: 'bench_worker_app_loader.js' };
const build = new URLSearchParams(location.search).get('build') ?? 'speed';
const buildSelect = document.getElementById('build');
const known = Object.hasOwn(BUILDS, build);
// The choice shown is the worker running (none for an unknown build, so that choosing either
// loads it), also when the browser restores this page from its back/forward cache.
const showBuild = () => { if (known) buildSelect.value = build; else buildSelect.selectedIndex = -1; };
showBuild();
window.addEventListener('pageshow', showBuild);
// Another build is another worker: the page loads again with it.
buildSelect.addEventListener('change', () => {
  location.search = `?build=${encodeURIComponent(buildSelect.value)}`;
});

// An unknown build starts no worker: every run fails with the reason.
const worker = known ? new Worker(BUILDS[build]) : null;
let failed = worker ? null : new Error(`build: unknown ${JSON.stringify(build)}: use speed or app`);
let pending = null; // the run in progress: { resolve, reject }
const isReady = new Promise((resolve, reject) => {
  if (failed) {
    out.textContent = `error: ${failed.message}`;
    reject(failed);
    return;
  }
  // A worker that fails to load, or traps in a run (a panic), answers nothing more: the run in
  // progress and every later one fail with the reason instead of waiting for ever.
  worker.addEventListener('error', (e) => {
    failed = new Error(`the benchmark worker failed: ${e.message || 'it stopped'}`);
    reject(failed);
    pending?.reject(failed);
    pending = null;
    out.textContent = `error: ${failed.message}`;
  });
  worker.addEventListener('message', ({ data }) => {
    if (data.ready) {
      resolve();
      button.disabled = false;
      out.textContent = `ready (the ${build} build): pick a workload and run it`;
      return;
    }
    if (!pending) return;
    const { resolve: done, reject: fail } = pending;
    pending = null;
    if (data.error !== undefined) fail(new Error(data.error));
    else done(JSON.parse(data.figures));
  });
});
isReady.catch(() => {});
let queue = Promise.resolve();

function runInWorker(workload, amount) {
  if (failed) return Promise.reject(failed);
  return new Promise((resolve, reject) => {
    pending = { resolve, reject };
    worker.postMessage({ workload, amount });
  });
}

// One run at a time: the worker answers in order, and a second run would share its thread.
window.brokerscopeBench = (workload, amount) => {
  const run = queue.then(() => isReady).then(() => runInWorker(workload, amount));
  queue = run.catch(() => {});
  return run;
};

const number = (x, digits = 0) => Number(x).toLocaleString('en', { maximumFractionDigits: digits });

// Every run of this page, newest first, so workloads and sizes can be compared side by side.
const runs = document.getElementById('runs');
function addRun(f) {
  const row = document.createElement('tr');
  const cells = [
    `(${f.workload})`, f.build, number(f.records), number(f.seconds, 3), number(f.records_per_sec),
    number(f.mb_per_sec, 1), number(f.ns_per_record, 1),
    f.seeds_per_sec === null ? '–' : number(f.seeds_per_sec, 1), `${number(f.wasm_memory_bytes / 1048576, 1)} MiB`,
  ];
  for (const text of cells) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  runs.tBodies[0].prepend(row);
  runs.hidden = false;
}

document.getElementById('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const workload = document.getElementById('workload').value;
  const amount = Number(document.getElementById('amount').value);
  button.disabled = true;
  out.textContent = `running (${workload}) with ${number(amount)} ${workload === 'd' ? 'seeds' : 'records'}…`;
  try {
    const f = await window.brokerscopeBench(workload, amount);
    const lines = [
      `workload        (${f.workload})`,
      `build           ${f.build} (opt-level ${f.opt_level})`,
      `records         ${number(f.records)}`,
      `seconds         ${number(f.seconds, 3)}`,
      `records/s       ${number(f.records_per_sec)}`,
      `MB/s            ${number(f.mb_per_sec, 1)}`,
      `ns/record       ${number(f.ns_per_record, 1)}`,
    ];
    if (f.seeds_per_sec !== null) lines.push(`seeds/s         ${number(f.seeds_per_sec, 1)}`);
    lines.push(`wasm memory     ${number(f.wasm_memory_bytes / 1048576, 1)} MiB`);
    const flag = workload === 'd' ? `--seeds ${amount} --jobs 1` : `--records ${amount}`;
    lines.push('', `natively: brokerscope bench --workload ${workload} ${flag}`);
    out.textContent = lines.join('\n');
    addRun(f);
  } catch (error) {
    out.textContent = `error: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});
