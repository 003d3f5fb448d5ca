// The browser benchmark page: runs a standard workload in the benchmark worker (Trunk builds
// src/bin/bench_worker.rs into bench_worker.js + bench_worker_bg.wasm, loaded by its shim) and
// prints its figures. `window.brokerscopeBench(workload, amount)` resolves to the figures object
// (the fields of `brokerscope bench --json` plus wasm_memory_bytes); e2e/perf.test.mjs uses it.
const out = document.getElementById('out');
const button = document.getElementById('run');

const worker = new Worker('bench_worker_loader.js');
let ready;
const isReady = new Promise((resolve, reject) => {
  ready = resolve;
  worker.addEventListener('error', (e) => reject(new Error(`the benchmark worker failed to load: ${e.message ?? e}`)));
});
isReady.catch((error) => { out.textContent = `error: ${error.message}`; });
let queue = Promise.resolve();

function runInWorker(workload, amount) {
  return new Promise((resolve, reject) => {
    const onMessage = ({ data }) => {
      if (data.ready) return;
      worker.removeEventListener('message', onMessage);
      if (data.error !== undefined) reject(new Error(data.error));
      else resolve(JSON.parse(data.figures));
    };
    worker.addEventListener('message', onMessage);
    worker.postMessage({ workload, amount });
  });
}

// One run at a time: the worker answers in order, and a second run would share its thread.
window.brokerscopeBench = (workload, amount) => {
  const run = queue.then(() => isReady).then(() => runInWorker(workload, amount));
  queue = run.catch(() => {});
  return run;
};

worker.addEventListener('message', ({ data }) => {
  if (data.ready) {
    ready();
    button.disabled = false;
    out.textContent = 'ready: pick a workload and run it';
  }
});

const number = (x, digits = 0) => Number(x).toLocaleString('en', { maximumFractionDigits: digits });

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
      `records         ${number(f.records)}`,
      `seconds         ${number(f.seconds, 3)}`,
      `records/s       ${number(f.records_per_sec)}`,
      `MB/s            ${number(f.mb_per_sec, 1)}`,
      `ns/record       ${number(f.ns_per_record, 1)}`,
    ];
    if (f.seeds_per_sec !== null) lines.push(`seeds/s         ${number(f.seeds_per_sec, 1)}`);
    lines.push(`wasm memory     ${number(f.wasm_memory_bytes / 1048576, 1)} MiB`);
    out.textContent = lines.join('\n');
  } catch (error) {
    out.textContent = `error: ${error.message}`;
  } finally {
    button.disabled = false;
  }
});
