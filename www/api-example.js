// The JavaScript API (see README, "JavaScript API"): create a simulation from a scenario
// object, subscribe to its trace, run it, and read the view and the summary.
import init, { Simulation } from './brokerscope.js';

const out = document.getElementById('out');
try {
  await init();
  const scenario = await (await fetch('scenarios/hello.json')).json();
  const sim = new Simulation(scenario, 1);
  const kinds = {};
  let sendsCompleted = 0; // one sends_completed event carries a batch's sends
  sim.subscribe((event) => {
    kinds[event.kind] = (kinds[event.kind] ?? 0) + 1;
    if (event.kind === 'sends_completed') sendsCompleted += event.send_ids.length;
  });
  sim.step(); // one event
  const stopped = sim.runUntil(scenario.duration_ms);
  const view = sim.view();
  const summary = sim.summary();
  out.textContent = JSON.stringify({
    stopped,
    now_ms: sim.nowMs(),
    trace_hash: sim.traceHash(),
    events_by_kind: kinds,
    sends_completed: sendsCompleted,
    brokers: view.brokers.length,
    acked: summary.checks.acked,
    acked_lost: summary.checks.acked_lost,
    last_events: sim.trace(summary.events - 3).map((e) => `${e.seq} ${e.node} ${e.kind}`),
  }, null, 2);
  out.dataset.traceHash = sim.traceHash();
  try {
    new Simulation({ brokers: 0 });
  } catch (e) {
    out.dataset.badScenarioError = String(e);
  }
} catch (e) {
  out.textContent = `error: ${e}`;
}
