//! The root component: owns the engine and the animation clock, wires controls and keys.

use crate::playback::{Flight, Playback};
use crate::scenario::{parse_json, BUILT_IN};
use crate::sim::scenario::Scenario;
use crate::sim::time::SimTime;
use crate::ui::components::producer_panel::ProducerPanel;
use crate::ui::components::{
    cluster::Cluster, controls::Controls, event_log::EventLog, scenario_picker::ScenarioPicker,
};
use crate::ui::frames::FrameLoop;
use crate::ui::model::{Action, UiState};
use crate::ui::storage::{self, Storage, StorageStatus};
use crate::url_params::{self, ViewParams};
use gloo::events::{EventListener, EventListenerOptions};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Longest wall-clock gap one tick may cover (a background tab must not jump ahead).
const TICK_GAP_MS_MAX: f64 = 100.0;
/// While playing, store operations are mirrored to IndexedDB at most this often (wall ms), in
/// one transaction; pausing, stepping and the end of a run flush at once.
const PERSIST_EVERY_MS: f64 = 250.0;
/// Trace lines shown.
const LOG_LINES: usize = 16;
/// While playing, the trace lines are refreshed at most this often (wall ms): hundreds of
/// events a second cannot be read anyway, and re-laying out the log every frame dropped frames.
const LOG_REFRESH_MS: f64 = 100.0;

/// The engine host: a playback plus the wall-clock → simulated-time mapping.
pub struct Engine {
    scenario: Scenario,
    playback: Playback,
    target_ns: f64,
    /// Stopped at a broken safety rule: ticks do nothing until Play resumes.
    halted: bool,
}

impl Engine {
    /// A fresh run of `scenario` with its own seed.
    pub fn new(scenario: Scenario) -> Engine {
        let seed = scenario.seed;
        Engine::with_seed(seed, scenario)
    }

    /// A fresh run of `scenario` with `seed` (which becomes the scenario's, so Restart keeps it).
    pub fn with_seed(seed: u64, mut scenario: Scenario) -> Engine {
        scenario.seed = seed;
        let mut playback = Playback::new(&scenario, seed);
        playback.enable_store_journal();
        Engine { scenario, playback, target_ns: 0.0, halted: false }
    }

    fn built_in(index: usize) -> Engine {
        Engine::new(parse_json(BUILT_IN[index].1).expect("built-in scenarios are valid"))
    }

    /// The run the URL asked for: a built-in (the first by default) and maybe another seed.
    fn from_params(params: &Result<ViewParams, crate::url_params::ParamError>) -> Engine {
        let p = params.as_ref().ok();
        let engine = Engine::built_in(p.and_then(|p| p.scenario).unwrap_or(0));
        match p.and_then(|p| p.seed) {
            Some(seed) => Engine::with_seed(seed, engine.scenario),
            None => engine,
        }
    }

    /// Advances by `wall_ms` of wall-clock time at `speed` simulated ms per wall ms. Returns
    /// true when a safety rule broke: the clock freezes at that event.
    pub fn advance_wall(&mut self, wall_ms: f64, speed: f64) -> bool {
        if self.halted {
            // A tick already scheduled before the pause took effect.
            return true;
        }
        let now = self.playback.now().as_ns() as f64;
        self.target_ns = self.target_ns.max(now) + wall_ms.clamp(0.0, TICK_GAP_MS_MAX) * speed * 1e6;
        let stop = self.playback.advance_to(SimTime::from_ns(self.target_ns as u64));
        self.halted = stop == crate::sim::RunStop::Violation;
        if self.halted {
            self.target_ns = self.playback.now().as_ns() as f64;
        }
        self.halted
    }

    /// Play pressed: go on past a violation.
    pub fn resume(&mut self) {
        self.halted = false;
    }

    /// Processes one event.
    pub fn step(&mut self) {
        self.playback.step();
        self.target_ns = self.playback.now().as_ns() as f64;
    }

    /// Restarts the same scenario.
    pub fn restart(&mut self) {
        *self = Engine::new(self.scenario.clone());
    }

    /// True at the scenario's end.
    pub fn finished(&self) -> bool {
        self.playback.finished()
    }
}

fn is_editable(target: Option<web_sys::EventTarget>) -> (bool, bool) {
    let tag = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()).map(|e| e.tag_name()).unwrap_or_default();
    let form_field = matches!(tag.as_str(), "INPUT" | "TEXTAREA" | "SELECT");
    (form_field, tag == "BUTTON")
}

/// The app.
#[function_component(App)]
pub fn app() -> Html {
    let params = use_memo((), |_| url_params::parse(&gloo::utils::window().location().search().unwrap_or_default()));
    let ui = {
        let params = params.clone();
        use_reducer(move || UiState::from_params(&params))
    };
    let engine: Rc<RefCell<Engine>> = {
        let params = params.clone();
        use_mut_ref(move || Engine::from_params(&params))
    };
    let embed = params.as_ref().as_ref().is_ok_and(|p| p.embed);
    let storage: Rc<RefCell<Storage>> = use_mut_ref(Storage::default);
    let log_cache: Rc<RefCell<(f64, Rc<Vec<LogLine>>)>> = use_mut_ref(|| (0.0, Rc::default()));
    let on_storage = {
        let ui = ui.clone();
        Callback::from(move |()| ui.dispatch(Action::Changed))
    };
    {
        let (storage, on_storage) = (storage.clone(), on_storage.clone());
        use_effect_with((), move |_| storage::open(storage, on_storage));
    }
    // The first render is on screen: a mark the performance test reads (time since navigation).
    use_effect_with((), |_| {
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("brokerscope-first-render");
        }
    });
    let persist = {
        let (engine, storage, on_storage) = (engine.clone(), storage.clone(), on_storage.clone());
        Rc::new(move || {
            let ops = engine.borrow_mut().playback.drain_store_ops();
            storage.borrow_mut().record(ops);
            storage::flush(storage.clone(), on_storage.clone());
        })
    };
    let new_run = {
        let (storage, on_storage) = (storage.clone(), on_storage.clone());
        Rc::new(move || storage::reset(storage.clone(), on_storage.clone()))
    };

    {
        let (engine, ui2, persist) = (engine.clone(), ui.clone(), persist.clone());
        use_effect_with((ui.playing, ui.speed_exp), move |(playing, _)| {
            let speed = ui2.speed();
            let flush_on_stop = persist.clone();
            let frames = playing.then(|| {
                let (mut last, mut persisted): (Option<f64>, f64) = (None, 0.0);
                FrameLoop::start(move |now| {
                    let stop = {
                        let mut e = engine.borrow_mut();
                        let halted = e.advance_wall(last.map_or(0.0, |l| now - l), speed);
                        halted || e.finished()
                    };
                    if stop || now - persisted >= PERSIST_EVERY_MS {
                        persist();
                        persisted = now;
                    }
                    last = Some(now);
                    ui2.dispatch(if stop { Action::Pause } else { Action::Changed });
                    !stop
                })
            });
            move || {
                // Paused or speed changed: mirror what the last frames queued.
                if frames.is_some() {
                    drop(frames);
                    flush_on_stop();
                }
            }
        });
    }

    let on_toggle = {
        let (engine, ui, new_run) = (engine.clone(), ui.clone(), new_run.clone());
        Callback::from(move |()| {
            if engine.borrow().finished() {
                engine.borrow_mut().restart();
                new_run();
                ui.dispatch(Action::Loaded);
            }
            engine.borrow_mut().resume();
            ui.dispatch(Action::TogglePlay);
        })
    };
    let on_step = {
        let (engine, ui, persist) = (engine.clone(), ui.clone(), persist.clone());
        Callback::from(move |()| {
            engine.borrow_mut().step();
            persist();
            ui.dispatch(Action::Changed);
        })
    };

    {
        let (on_toggle, on_step) = (on_toggle.clone(), on_step.clone());
        use_effect_with((), move |_| {
            let options = EventListenerOptions::enable_prevent_default();
            let listener = EventListener::new_with_options(&gloo::utils::window(), "keydown", options, move |event| {
                let event: &web_sys::KeyboardEvent = event.unchecked_ref();
                let (form_field, button) = is_editable(event.target());
                match event.key().as_str() {
                    " " if !form_field && !button => {
                        event.prevent_default();
                        on_toggle.emit(());
                    }
                    "ArrowRight" if !form_field => {
                        event.prevent_default();
                        on_step.emit(());
                    }
                    _ => {}
                }
            });
            move || drop(listener)
        });
    }

    let on_restart = {
        let (engine, ui, new_run) = (engine.clone(), ui.clone(), new_run.clone());
        Callback::from(move |()| {
            engine.borrow_mut().restart();
            new_run();
            ui.dispatch(Action::Loaded);
        })
    };
    let on_fault = {
        let (engine, ui, persist) = (engine.clone(), ui.clone(), persist.clone());
        Callback::from(move |action: crate::sim::scenario::Action| {
            let result = engine.borrow_mut().playback.act(action);
            match result {
                Ok(()) => ui.dispatch(Action::Changed),
                Err(e) => ui.dispatch(Action::Error(e.to_string())),
            }
            persist();
        })
    };
    let on_speed = {
        let ui = ui.clone();
        Callback::from(move |exp| ui.dispatch(Action::SetSpeed(exp)))
    };
    let on_file = {
        let (engine, ui, new_run) = (engine.clone(), ui.clone(), new_run.clone());
        Callback::from(move |(name, text): (String, String)| match parse_json(&text) {
            Ok(scenario) => {
                *engine.borrow_mut() = Engine::new(scenario);
                new_run();
                ui.dispatch(Action::Loaded);
            }
            Err(e) => ui.dispatch(Action::Error(format!("{name}: {e}"))),
        })
    };
    let on_built_in = {
        let (engine, ui, new_run) = (engine.clone(), ui.clone(), new_run.clone());
        Callback::from(move |index: usize| {
            *engine.borrow_mut() = Engine::built_in(index);
            new_run();
            ui.dispatch(Action::Loaded);
        })
    };

    let (storage_text, storage_notice) = {
        let s = storage.borrow();
        let text = match &s.status {
            StorageStatus::Opening => "storage: opening IndexedDB…".to_string(),
            StorageStatus::IndexedDb { segments } => format!("storage: IndexedDB, {segments} segment(s) mirrored"),
            StorageStatus::MemoryOnly(why) => format!("storage: in memory only ({why})"),
        };
        let notice = match &s.status {
            StorageStatus::MemoryOnly(why) => {
                Some(format!("IndexedDB is unavailable, so this run is kept in memory only: {why}"))
            }
            _ => s.restored.clone(),
        };
        (text, notice)
    };
    let e = engine.borrow();
    let pb = &e.playback;
    let now = pb.now();
    let view = Rc::new(pb.sim().view());
    let producers = Rc::new(view.producers.clone());
    let flights: Rc<Vec<(Flight, f64)>> = Rc::new(pb.flights().map(|f| (f.clone(), f.progress(now))).collect());
    let lines = {
        let mut cache = log_cache.borrow_mut();
        let wall = js_sys::Date::now();
        if !ui.playing || wall - cache.0 >= LOG_REFRESH_MS || cache.1.is_empty() {
            *cache = (wall, Rc::new(log_lines(pb)));
        }
        cache.1.clone()
    };

    html! {
        <main class={classes!("app", embed.then_some("embed"))} data-testid="app" data-version={ui.version.to_string()}>
            if embed {
                { embed_header(&e.scenario.name) }
            } else {
                <ScenarioPicker name={e.scenario.name.clone()} description={e.scenario.description.clone()} {on_file} built_in={built_in_names()} {on_built_in} />
            }
            if let Some(err) = &ui.error {
                <div class="error" role="alert" data-testid="error">{ err }</div>
            }
            { violation_banner(pb.violations()) }
            if let Some(notice) = storage_notice {
                <div class="notice" role="status" data-testid="storage-notice">{ notice }</div>
            }
            <Controls playing={ui.playing} speed_exp={ui.speed_exp} now_ns={now.as_ns()} end_ms={e.scenario.duration_ms}
                {on_toggle} {on_step} {on_restart} {on_speed} />
            <div class="stage">
                <section class="panel canvas">
                    <Cluster view={view} flights={flights} {on_fault} />
                    <ul class="legend" aria-label="Legend">
                        <li><i class="msg produce"></i>{ "Produce" }</li>
                        <li><i class="msg produce-response"></i>{ "ack" }</li>
                        <li><i class="msg replica-fetch"></i>{ "follower Fetch" }</li>
                        <li><i class="msg fetch"></i>{ "consumer Fetch" }</li>
                        <li><i class="msg fetch-response"></i>{ "records" }</li>
                        <li><i class="msg control"></i>{ "controller: heartbeat, metadata, AlterPartition" }</li>
                        <li><i class="hw-tick"></i>{ "high watermark" }</li>
                    </ul>
                </section>
                if !embed {
                    <EventLog lines={lines} />
                }
            </div>
            if !embed {
                <ProducerPanel producers={producers} />
            }
            <footer class="keys">
                if !embed { { "Space play/pause · → step one event · " } }
                { "seed " }{ pb.sim().seed() }{ " · trace hash " }
                <code data-testid="trace-hash">{ pb.sim().trace_hash().hex() }</code>
                if !embed { { " · " }<span data-testid="storage-status">{ storage_text }</span> }
            </footer>
        </main>
    }
}

/// The embed mode's title bar: the scenario and a link to the same run in the full app.
fn embed_header(name: &str) -> Html {
    let search = gloo::utils::window().location().search().unwrap_or_default();
    let rest: Vec<&str> =
        search.trim_start_matches('?').split('&').filter(|p| !p.is_empty() && *p != "embed").collect();
    let href = if rest.is_empty() { "./".to_string() } else { format!("./?{}", rest.join("&")) };
    html! {
        <header class="embed-header">
            <span class="name" data-testid="scenario-name">{ name }</span>
            <a href={href} target="_blank" rel="noopener" data-testid="open-full"
                title="Open this scenario in the full brokerscope app (new tab)">{ "brokerscope ↗" }</a>
        </header>
    }
}

/// One event-log row: sequence number, node, text.
type LogLine = (u64, String, String);

/// The newest [`LOG_LINES`] trace events, oldest first.
fn log_lines(pb: &Playback) -> Vec<LogLine> {
    let mut lines: Vec<LogLine> = pb
        .log()
        .rev()
        .take(LOG_LINES)
        .map(|ev| (ev.seq, ev.node.to_string(), format!("{} · {}", ev.at, ev.kind)))
        .collect();
    lines.reverse();
    lines
}

/// The live invariant monitor: the latest broken rule, where it broke, and how many so far.
fn violation_banner(violations: &[crate::sim::trace::TraceEvent]) -> Html {
    let Some(last) = violations.last() else { return html! {} };
    let crate::sim::trace::TraceKind::InvariantViolated { check, message } = &last.kind else { return html! {} };
    let more = match violations.len() {
        1 => String::new(),
        n => format!(" ({} more before it)", n - 1),
    };
    html! {
        <div class="violation" role="alert" data-testid="violation" data-seq={last.seq.to_string()}>
            <strong>{ format!("Safety rule broken: {check:?}") }</strong>
            { format!(" at event #{} (t = {}): {message}. Playback stopped here{more}; press Play to go on.", last.seq, last.at) }
        </div>
    }
}

/// (id, name) of each built-in scenario, for the picker (parsed once).
fn built_in_names() -> Vec<(String, String)> {
    static NAMES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            BUILT_IN
                .iter()
                .map(|(id, json)| (id.to_string(), parse_json(json).expect("built-in scenarios are valid").name))
                .collect()
        })
        .clone()
}
