//! The root component: owns the engine and the animation clock, wires controls and keys.

use crate::playback::{Flight, Playback};
use crate::run_link::RunLink;
use crate::scenario::{parse_json, CATALOG};
use crate::seed_search::SeedSearch;
use crate::sim::collections::sort_by_key;
use crate::sim::node::NodeId;
use crate::sim::scenario::{NarrationStep, Scenario};
use crate::sim::time::SimTime;
use crate::timeline::{run_branch, BranchOutcome, RecordedAction, ReplayError, Timeline};
use crate::ui::components::config_panel::{ConfigPanel, ConfigSubject};
use crate::ui::components::metrics_panel::{Chart, MetricsPanel};
use crate::ui::components::network_matrix::NetworkMatrix;
use crate::ui::components::producer_panel::ProducerPanel;
use crate::ui::components::seed_search_panel::SeedSearchPanel;
use crate::ui::components::storage_panel::StoragePanel;
use crate::ui::components::{
    cluster::{Cluster, WhySubject},
    controls::Controls,
    event_log::EventLog,
    scenario_picker::ScenarioPicker,
};
use crate::ui::export;
use crate::ui::frames::FrameLoop;
use crate::ui::model::{Action, UiState};
use crate::ui::num::fixed;
use crate::ui::storage::{self, Storage, StorageStatus};
use crate::url_params::{self, ParamError, ViewParams};
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
/// Events a seed search runs between checks of the frame's time budget.
const SEARCH_SLICE_STEPS: u64 = 2_000;
/// Wall time a seed search may take per frame (ms), leaving the rest of the frame to the view.
const SEARCH_FRAME_MS: f64 = 8.0;
/// Trace lines shown.
const LOG_LINES: usize = 16;
/// While playing, the trace lines are refreshed at most this often (wall ms): hundreds of
/// events a second cannot be read anyway, and re-laying out the log every frame dropped frames.
const LOG_REFRESH_MS: f64 = 100.0;
/// While playing, the panels under the cluster view (metrics, producers, network matrix,
/// config, storage) are rebuilt at most this often (wall ms, in [`PanelCache`] order);
/// between refreshes the same virtual DOM is handed back, so Yew skips them. They are read,
/// not animated, and re-rendering them every frame cost more than the animated cluster view
/// itself (profiled at 10×). The producer's deques and in-flight windows move fastest.
const PANEL_REFRESH_MS: [f64; PANELS] = [250.0, 100.0, 250.0, 500.0, 250.0];
/// Wall time the simulation may take per animation frame (ms), leaving the rest of a 16.7 ms
/// frame to rendering.
const SIM_FRAME_BUDGET_MS: f64 = 5.0;
/// Frames "CPU-bound" stays up after the last frame that ran out of budget.
const CPU_BOUND_HOLD_FRAMES: u32 = 30;
/// Events processed between two looks at the clock within a frame.
const SIM_FRAME_STEPS: u64 = 200;

/// Wall-clock ms with sub-millisecond resolution where the browser offers it.
fn performance_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// The panels under the cluster view as last rendered while playing (see [`PANEL_REFRESH_MS`]),
/// with what they were rendered from.
#[derive(Default)]
struct PanelCache {
    /// Each panel (metrics, producers, network matrix, config, storage) and the wall-clock ms
    /// of its render.
    panels: [(f64, Html); PANELS],
    /// Whether every panel has been rendered once.
    rendered: bool,
    /// The timeline position at the last render (a jump back re-renders every panel).
    ticks: u64,
    /// The storage replica chosen then.
    choice: Option<(NodeId, String)>,
}

/// Panels in [`PanelCache`].
const PANELS: usize = 5;

/// The engine host: a timeline plus the wall-clock → simulated-time mapping.
pub struct Engine {
    scenario: Scenario,
    /// The built-in scenario's id (a link names it).
    built_in: Option<&'static str>,
    /// A scenario file's JSON, minified (a link carries it whole).
    source_json: Option<String>,
    timeline: Timeline,
    target_ns: f64,
    /// Stopped at a broken safety rule: ticks do nothing until Play resumes.
    halted: bool,
    /// Frames left to show "CPU-bound" for: reset whenever a frame's events did not fit its
    /// budget.
    cpu_bound_frames: u32,
}

impl Engine {
    /// A fresh run of `scenario` with its own seed.
    pub fn new(scenario: Scenario) -> Engine {
        let seed = scenario.seed;
        Engine::with_seed(seed, scenario)
    }

    /// A fresh run of `scenario` with `seed` (which becomes the scenario's, so Restart keeps it).
    pub fn with_seed(seed: u64, scenario: Scenario) -> Engine {
        Engine::with_actions(seed, scenario, Vec::new())
    }

    fn with_actions(seed: u64, mut scenario: Scenario, actions: Vec<RecordedAction>) -> Engine {
        scenario.seed = seed;
        let mut playback = Playback::new(&scenario, seed);
        playback.enable_store_journal();
        let timeline = Timeline::from_playback(playback, actions);
        Engine {
            scenario,
            built_in: None,
            source_json: None,
            timeline,
            target_ns: 0.0,
            halted: false,
            cpu_bound_frames: 0,
        }
    }

    /// A fresh run of built-in scenario `index`, if its JSON is at hand (see `ui::library`) and
    /// valid; else a one-line error naming it.
    fn built_in(index: usize) -> Result<Engine, String> {
        let id = CATALOG.get(index).ok_or_else(|| format!("scenario: no built-in number {}", index + 1))?.0;
        let text = super::library::text(index).ok_or_else(|| super::library::missing(index))?;
        let mut engine = Engine::new(parse_json(&text).map_err(|e| format!("scenario {id}: {e}"))?);
        engine.built_in = Some(id);
        Ok(engine)
    }

    /// A fresh run of `hello.json`, which is always compiled in.
    fn hello() -> Engine {
        Engine::built_in(0).expect("hello.json is compiled in and valid")
    }

    /// The run the URL asked for: a built-in (the first by default), maybe another seed,
    /// recorded actions and a position. A link that does not replay is reported and the
    /// scenario opens at its start without the actions.
    fn from_params(params: &Result<ViewParams, ParamError>) -> (Engine, Option<String>) {
        let Ok(p) = params.as_ref() else { return (Engine::hello(), None) };
        let index = p.scenario.unwrap_or(0);
        let fresh = match p.scenario_json.as_deref().and_then(|text| Engine::from_file_text(text).ok()) {
            Some(engine) => engine,
            None => match Engine::built_in(index) {
                Ok(engine) => engine,
                Err(e) => return (Engine::hello(), Some(format!("{e}; the first scenario opens instead."))),
            },
        };
        let seed = p.seed.unwrap_or(fresh.scenario.seed);
        let mut engine = Engine::with_actions(seed, fresh.scenario.clone(), p.actions.clone());
        engine.built_in = fresh.built_in;
        engine.source_json = fresh.source_json.clone();
        let replayed = match p.position {
            Some((tick, at)) => engine.timeline.goto(tick, at),
            None => Ok(()),
        };
        match replayed {
            Ok(()) => {
                engine.after_move();
                (engine, None)
            }
            Err(e) => {
                let mut plain = Engine::with_seed(seed, fresh.scenario.clone());
                plain.built_in = fresh.built_in;
                plain.source_json = fresh.source_json.clone();
                (plain, Some(format!("This link does not replay ({e}); the scenario opens at its start.")))
            }
        }
    }

    /// The playback at the current position.
    pub fn playback(&self) -> &Playback {
        self.timeline.playback()
    }

    /// Advances by `wall_ms` of wall-clock time at `speed` simulated ms per wall ms. Returns
    /// true when a safety rule broke: the clock freezes at that event.
    ///
    /// The simulation gets at most [`SIM_FRAME_BUDGET_MS`] of each frame (`clock` returns wall
    /// ms): when the events due cannot be processed in that time, the clock falls behind the
    /// asked speed instead of the frame running late ([`Engine::cpu_bound`] says so).
    pub fn advance_wall(&mut self, wall_ms: f64, speed: f64, clock: &dyn Fn() -> f64) -> Result<bool, ReplayError> {
        if self.halted {
            // A tick already scheduled before the pause took effect.
            return Ok(true);
        }
        let now = self.playback().now().as_ns() as f64;
        self.target_ns = self.target_ns.max(now) + wall_ms.clamp(0.0, TICK_GAP_MS_MAX) * speed * 1e6;
        let target = SimTime::from_ns(self.target_ns as u64);
        let started = clock();
        let stop = loop {
            let stop = self.timeline.advance_within(target, SIM_FRAME_STEPS)?;
            if stop != crate::sim::RunStop::StepsMax || clock() - started >= SIM_FRAME_BUDGET_MS {
                break stop;
            }
        };
        let bound = stop == crate::sim::RunStop::StepsMax;
        // Shown for half a second after the last bound frame, so a borderline load does not flicker.
        self.cpu_bound_frames = if bound { CPU_BOUND_HOLD_FRAMES } else { self.cpu_bound_frames.saturating_sub(1) };
        if bound {
            // Drop the backlog: catching up later would only make later frames late.
            self.target_ns = self.playback().now().as_ns() as f64;
        }
        self.halted = stop == crate::sim::RunStop::Violation;
        if self.halted {
            self.target_ns = self.playback().now().as_ns() as f64;
        }
        Ok(self.halted)
    }

    /// Whether the last frame ran out of its simulation budget (the clock runs slower than the
    /// speed asked).
    pub fn cpu_bound(&self) -> bool {
        self.cpu_bound_frames > 0
    }

    /// Play pressed: go on past a violation.
    pub fn resume(&mut self) {
        self.halted = false;
    }

    /// One tick forward (an event or a recorded action).
    pub fn step(&mut self) -> Result<(), ReplayError> {
        self.timeline.step()?;
        self.target_ns = self.playback().now().as_ns() as f64;
        Ok(())
    }

    /// One tick back.
    pub fn step_back(&mut self) -> Result<(), ReplayError> {
        self.timeline.step_back()?;
        self.after_move();
        Ok(())
    }

    /// Moves the clock to `t` (backwards or forwards).
    pub fn seek(&mut self, t: SimTime) -> Result<(), ReplayError> {
        self.timeline.seek(t)?;
        self.after_move();
        Ok(())
    }

    /// After a jump: the clock target follows, and the store mirror gets a full image.
    fn after_move(&mut self) {
        self.target_ns = self.playback().now().as_ns() as f64;
        self.halted = false;
        self.timeline.playback_mut().rebase_store_journal();
    }

    /// A scenario file's run: the scenario, and its JSON kept (minified) for links.
    fn from_file_text(text: &str) -> Result<Engine, crate::scenario::ScenarioError> {
        let scenario = parse_json(text)?;
        let mut engine = Engine::new(scenario);
        engine.source_json = Some(crate::scenario::minify_json(text));
        Ok(engine)
    }

    /// The same scenario with `seed`, from its start.
    fn reseeded(&self, seed: u64) -> Engine {
        let mut fresh = Engine::with_seed(seed, self.scenario.clone());
        fresh.built_in = self.built_in;
        fresh.source_json = self.source_json.clone();
        fresh
    }

    /// Starts the scenario over without the recorded actions.
    pub fn restart(&mut self) {
        *self = self.reseeded(self.scenario.seed);
    }

    /// True at the scenario's end.
    pub fn finished(&self) -> bool {
        self.playback().finished()
    }

    /// A file name stem for exports: scenario, seed and time.
    fn export_stem(&self) -> String {
        let name = self.built_in.map_or_else(
            || {
                self.scenario
                    .name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
                    .collect()
            },
            str::to_string,
        );
        format!("brokerscope-{name}-seed{}-{}ms", self.scenario.seed, self.playback().now().as_ms())
    }

    /// Saves what `kind` asks for.
    fn export(&self, kind: ExportKind) -> Result<(), String> {
        let stem = self.export_stem();
        match kind {
            ExportKind::Trace => {
                let t = &self.timeline;
                let actions = t.actions()[..t.applied()].to_vec();
                let events = crate::timeline::replay_trace(
                    &self.scenario,
                    self.scenario.seed,
                    actions,
                    (t.ticks(), self.playback().now()),
                )
                .map_err(|e| e.to_string())?;
                let mut text = String::new();
                for event in &events {
                    text.push_str(&event.to_json_line());
                    text.push('\n');
                }
                export::download(&format!("{stem}.jsonl"), "application/x-ndjson", text.as_bytes())
            }
            ExportKind::Svg => {
                export::download(&format!("{stem}.svg"), "image/svg+xml", export::cluster_svg()?.as_bytes())
            }
            ExportKind::Png => {
                export::save_cluster_png(format!("{stem}.png"));
                Ok(())
            }
        }
    }

    /// The link that reopens this run here, or why there is none.
    pub fn link(&self, speed_exp: i32) -> Result<String, String> {
        let link = RunLink {
            scenario: self.built_in.unwrap_or_default().to_string(),
            scenario_json: if self.built_in.is_some() { None } else { self.source_json.clone() },
            seed: Some(self.scenario.seed),
            speed_exp: Some(speed_exp),
            actions: self.timeline.actions().to_vec(),
            position: Some((self.timeline.ticks(), self.playback().now())),
        };
        let query = link.to_query();
        if query.len() > url_params::QUERY_BYTES_MAX {
            return Err(format!("the link would be {} bytes, more than {}", query.len(), url_params::QUERY_BYTES_MAX));
        }
        Ok(query)
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
    let link_error: Rc<RefCell<Option<String>>> = use_mut_ref(|| None);
    let engine: Rc<RefCell<Engine>> = {
        let (params, link_error) = (params.clone(), link_error.clone());
        use_mut_ref(move || {
            let (engine, error) = Engine::from_params(&params);
            *link_error.borrow_mut() = error;
            engine
        })
    };
    {
        let (ui, link_error) = (ui.clone(), link_error.clone());
        use_effect_with((), move |_| {
            if let Some(e) = link_error.borrow_mut().take() {
                ui.dispatch(Action::Error(e));
            }
        });
    }
    let embed = params.as_ref().as_ref().is_ok_and(|p| p.embed);
    let storage: Rc<RefCell<Storage>> = use_mut_ref(Storage::default);
    let log_cache: Rc<RefCell<LogCache>> = use_mut_ref(|| (0.0, String::new(), Rc::default()));
    let log_filter = use_state(String::new);
    let panel_cache: Rc<RefCell<PanelCache>> = use_mut_ref(PanelCache::default);
    let comparison: UseStateHandle<Option<Rc<Comparison>>> = use_state(|| None);
    let storage_choice: UseStateHandle<Option<(NodeId, String)>> = use_state(|| None);
    let why: UseStateHandle<Option<WhySubject>> = use_state(|| None);
    // Whether the frame loop runs. It renders every frame, so a finished IndexedDB write needs
    // no render of its own then: one landed in a frame every 250 ms, a second full render of
    // the app in that frame (the footer's storage count shows up with the next frame anyway).
    let animating: Rc<RefCell<bool>> = use_mut_ref(|| false);
    let on_storage = {
        let (ui, animating) = (ui.clone(), animating.clone());
        Callback::from(move |()| {
            if !*animating.borrow() {
                ui.dispatch(Action::Changed);
            }
        })
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
            let ops = engine.borrow_mut().timeline.playback_mut().drain_store_ops();
            storage.borrow_mut().record(ops);
            storage::flush(storage.clone(), on_storage.clone());
        })
    };
    // Bumped by every new run and every built-in chosen: a fetch that finishes after either
    // is stale, so a slow scenario never replaces the one chosen (or opened) after it.
    let latest_choice: Rc<RefCell<u64>> = use_mut_ref(|| 0);
    let new_run = {
        let (storage, on_storage, comparison, latest) =
            (storage.clone(), on_storage.clone(), comparison.clone(), latest_choice.clone());
        Rc::new(move || {
            *latest.borrow_mut() += 1;
            comparison.set(None);
            storage::resume(&storage);
            storage::reset(storage.clone(), on_storage.clone())
        })
    };
    // After a jump in time the mirror is rewritten from an image of the logs.
    let remirror = {
        let (storage, on_storage, persist) = (storage.clone(), on_storage.clone(), persist.clone());
        Rc::new(move || {
            storage::reset(storage.clone(), on_storage.clone());
            persist();
        })
    };

    {
        let (engine, ui2, persist, animating) = (engine.clone(), ui.clone(), persist.clone(), animating.clone());
        use_effect_with((ui.playing, ui.speed_exp), move |(playing, _)| {
            let speed = ui2.speed();
            *animating.borrow_mut() = *playing;
            let flush_on_stop = persist.clone();
            let frames = playing.then(|| {
                let (mut last, mut persisted): (Option<f64>, f64) = (None, 0.0);
                FrameLoop::start(move |now| {
                    let result = {
                        let mut e = engine.borrow_mut();
                        e.advance_wall(last.map_or(0.0, |l| now - l), speed, &performance_now)
                            .map(|halted| halted || e.finished())
                    };
                    let stop = result.as_ref().map_or(true, |stop| *stop);
                    if stop || now - persisted >= PERSIST_EVERY_MS {
                        // In a task of its own after this frame's render, not inside the frame.
                        let persist = persist.clone();
                        gloo::timers::callback::Timeout::new(0, move || persist()).forget();
                        persisted = now;
                    }
                    last = Some(now);
                    match result {
                        Err(e) => {
                            ui2.dispatch(Action::Error(e.to_string()));
                            ui2.dispatch(Action::Pause);
                        }
                        Ok(true) => ui2.dispatch(Action::Pause),
                        Ok(false) => ui2.dispatch(Action::Changed),
                    }
                    !stop
                })
            });
            move || {
                *animating.borrow_mut() = false;
                // Paused or speed changed: mirror what the last frames queued.
                if frames.is_some() {
                    drop(frames);
                    flush_on_stop();
                }
            }
        });
    }

    // Runs an engine operation that may fail to replay; reports the error and re-renders.
    let engine_op = {
        let (engine, ui) = (engine.clone(), ui.clone());
        Rc::new(move |op: &dyn Fn(&mut Engine) -> Result<(), ReplayError>| {
            let result = op(&mut engine.borrow_mut());
            match result {
                Ok(()) => ui.dispatch(Action::Changed),
                Err(e) => ui.dispatch(Action::Error(e.to_string())),
            }
        })
    };
    let on_toggle = {
        let (engine, ui, remirror) = (engine.clone(), ui.clone(), remirror.clone());
        Callback::from(move |()| {
            if !ui.playing && engine.borrow().finished() {
                // Play at the end replays the same run from the start.
                let _ = engine.borrow_mut().seek(SimTime::ZERO);
                remirror();
            }
            engine.borrow_mut().resume();
            ui.dispatch(Action::TogglePlay);
        })
    };
    let on_step = {
        let (engine_op, ui, persist) = (engine_op.clone(), ui.clone(), persist.clone());
        Callback::from(move |()| {
            ui.dispatch(Action::Pause);
            engine_op(&|e| e.step());
            persist();
        })
    };
    let on_step_back = {
        let (engine_op, ui, remirror) = (engine_op.clone(), ui.clone(), remirror.clone());
        Callback::from(move |()| {
            ui.dispatch(Action::Pause);
            engine_op(&|e| e.step_back());
            remirror();
        })
    };
    let on_seek = {
        let (engine_op, remirror) = (engine_op.clone(), remirror.clone());
        Callback::from(move |t: SimTime| {
            engine_op(&|e| e.seek(t));
            remirror();
        })
    };

    // The guided tour: jump to the next (or previous) narration step and pause there.
    let on_tour = {
        let (engine, ui, on_seek) = (engine.clone(), ui.clone(), on_seek.clone());
        Callback::from(move |forward: bool| {
            let target = {
                let e = engine.borrow();
                let now = e.playback().now();
                let steps = &e.scenario.narration;
                if forward {
                    steps.iter().find(|s| s.at > now).map(|s| s.at)
                } else {
                    let current = steps.iter().rposition(|s| s.at <= now);
                    current.and_then(|i| i.checked_sub(1)).map(|i| steps[i].at)
                }
            };
            if let Some(at) = target {
                ui.dispatch(Action::Pause);
                on_seek.emit(at);
            }
        })
    };

    {
        let (on_toggle, on_step, on_step_back) = (on_toggle.clone(), on_step.clone(), on_step_back.clone());
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
                    "ArrowLeft" if !form_field => {
                        event.prevent_default();
                        on_step_back.emit(());
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
            let result = engine.borrow_mut().timeline.act(action);
            match result {
                Ok(()) => ui.dispatch(Action::Applied),
                Err(e) => ui.dispatch(Action::Error(e.to_string())),
            }
            persist();
        })
    };
    let on_speed = {
        let ui = ui.clone();
        Callback::from(move |exp| ui.dispatch(Action::SetSpeed(exp)))
    };
    let on_copy_link = {
        let (engine, ui) = (engine.clone(), ui.clone());
        Callback::from(move |()| match engine.borrow().link(ui.speed_exp) {
            Ok(query) => {
                let location = gloo::utils::window().location();
                let base =
                    format!("{}{}", location.origin().unwrap_or_default(), location.pathname().unwrap_or_default());
                let url = format!("{base}{query}");
                // Refused without a user gesture or permission: the link is shown either way.
                let written = gloo::utils::window().navigator().clipboard().write_text(&url);
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = wasm_bindgen_futures::JsFuture::from(written).await;
                });
                ui.dispatch(Action::Linked(url));
            }
            Err(e) => ui.dispatch(Action::Error(format!("No link: {e}"))),
        })
    };
    let on_compare = {
        let (engine, comparison) = (engine.clone(), comparison.clone());
        Callback::from(move |_: MouseEvent| comparison.set(Some(Rc::new(Comparison::of(&engine.borrow())))))
    };
    let on_export = {
        let (engine, ui) = (engine.clone(), ui.clone());
        Callback::from(move |kind: ExportKind| {
            let result = engine.borrow().export(kind);
            if let Err(e) = result {
                ui.dispatch(Action::Error(format!("Export failed: {e}")));
            }
        })
    };
    let on_clear_storage = {
        let (storage, on_storage) = (storage.clone(), on_storage.clone());
        Callback::from(move |_: MouseEvent| storage::clear(storage.clone(), on_storage.clone()))
    };
    let on_storage_select = {
        let storage_choice = storage_choice.clone();
        Callback::from(move |r: (NodeId, String)| storage_choice.set(Some(r)))
    };
    let on_segment_download = {
        let (engine, ui, storage_choice) = (engine.clone(), ui.clone(), storage_choice.clone());
        Callback::from(move |(base, ext): (i64, &'static str)| {
            let e = engine.borrow();
            let sim = e.playback().sim();
            let Some((broker, tp)) = chosen_replica(sim, &storage_choice) else { return };
            let name = format!("{}.{ext}", crate::sim::log::segment::file_stem(base));
            let result = match sim.segment_file(broker, &tp, base, ext) {
                Some(bytes) => export::download(&name, "application/octet-stream", &bytes),
                None => Err(format!("{tp} on {broker} has no segment {base} now")),
            };
            if let Err(err) = result {
                ui.dispatch(Action::Error(format!("Export failed: {err}")));
            }
        })
    };
    let search: Rc<RefCell<Option<SeedSearch>>> = use_mut_ref(|| None);
    let search_frames: Rc<RefCell<Option<FrameLoop>>> = use_mut_ref(|| None);
    let on_search_start = {
        let (engine, search, search_frames, ui) = (engine.clone(), search.clone(), search_frames.clone(), ui.clone());
        Callback::from(move |(from, count): (u64, u64)| {
            *search.borrow_mut() = Some(SeedSearch::new(&engine.borrow().scenario, from, count));
            let (search, ui2) = (search.clone(), ui.clone());
            let frames = FrameLoop::start(move |_| {
                let started = js_sys::Date::now();
                let finished = loop {
                    let Some(s) = search.borrow_mut().as_mut().map(|s| s.run_for(SEARCH_SLICE_STEPS)) else {
                        break true;
                    };
                    if s || js_sys::Date::now() - started > SEARCH_FRAME_MS {
                        break s;
                    }
                };
                ui2.dispatch(Action::Changed);
                !finished
            });
            *search_frames.borrow_mut() = Some(frames);
            ui.dispatch(Action::Changed);
        })
    };
    let on_search_stop = {
        let (search_frames, ui) = (search_frames.clone(), ui.clone());
        Callback::from(move |()| {
            search_frames.borrow_mut().take();
            ui.dispatch(Action::Changed);
        })
    };
    let on_open_seed = {
        let (engine, ui, new_run) = (engine.clone(), ui.clone(), new_run.clone());
        Callback::from(move |seed: u64| {
            let fresh = engine.borrow().reseeded(seed);
            *engine.borrow_mut() = fresh;
            new_run();
            ui.dispatch(Action::Loaded);
        })
    };
    // A new scenario: the search was about the old one.
    let forget_search = {
        let (search, search_frames) = (search.clone(), search_frames.clone());
        Rc::new(move || {
            search_frames.borrow_mut().take();
            search.borrow_mut().take();
        })
    };
    let on_file = {
        let (engine, ui, new_run, forget_search) = (engine.clone(), ui.clone(), new_run.clone(), forget_search.clone());
        Callback::from(move |(name, text): (String, String)| match Engine::from_file_text(&text) {
            Ok(fresh) => {
                forget_search();
                *engine.borrow_mut() = fresh;
                new_run();
                ui.dispatch(Action::Loaded);
            }
            Err(e) => ui.dispatch(Action::Error(format!("{name}: {e}"))),
        })
    };
    // A built-in not at hand yet is fetched first (the library stays open, marked busy).
    let on_built_in = {
        let (engine, ui, new_run, latest) = (engine.clone(), ui.clone(), new_run.clone(), latest_choice.clone());
        Callback::from(move |index: usize| {
            let (engine, ui, new_run, forget_search, latest) =
                (engine.clone(), ui.clone(), new_run.clone(), forget_search.clone(), latest.clone());
            let ticket = {
                let mut latest = latest.borrow_mut();
                *latest += 1;
                *latest
            };
            ui.dispatch(Action::Fetching(index));
            super::library::fetch(index, move |text| {
                if *latest.borrow() != ticket {
                    return; // another scenario was chosen or opened meanwhile
                }
                match text.and_then(|_| Engine::built_in(index)) {
                    Ok(fresh) => {
                        forget_search();
                        *engine.borrow_mut() = fresh;
                        new_run();
                        ui.dispatch(Action::Loaded);
                    }
                    Err(e) => ui.dispatch(Action::FetchFailed(e)),
                }
            });
        })
    };

    let (storage_text, storage_notice) = {
        let s = storage.borrow();
        let text = match &s.status {
            StorageStatus::Opening => "storage: opening IndexedDB…".to_string(),
            StorageStatus::IndexedDb { .. } if s.paused && s.busy() => "storage: clearing…".to_string(),
            StorageStatus::IndexedDb { .. } if s.paused => {
                "storage: cleared (mirroring resumes with the next run)".to_string()
            }
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
    let pb = e.playback();
    let now = pb.now();
    let view = Rc::new(pb.sim().view());
    let default_link = pb.sim().network().default_link();
    let flights: Rc<Vec<(Flight, f64)>> = Rc::new(pb.flights().map(|f| (f.clone(), f.progress(now))).collect());
    let lines = {
        let mut cache = log_cache.borrow_mut();
        let wall = js_sys::Date::now();
        let stale = !ui.playing || wall - cache.0 >= LOG_REFRESH_MS || cache.2.is_empty() || cache.1 != *log_filter;
        if stale {
            *cache = (wall, (*log_filter).clone(), Rc::new(log_lines(pb, &log_filter)));
        }
        cache.2.clone()
    };

    let panels = {
        let mut cache = panel_cache.borrow_mut();
        let wall = performance_now();
        let moved_back = e.timeline.ticks() < cache.ticks;
        let all = !ui.playing || moved_back || *storage_choice != cache.choice || !cache.rendered;
        // While playing, at most one panel is rebuilt in a frame (the most overdue one), so
        // the rebuilds spread over frames instead of landing together in one late frame.
        let overdue = |i: usize| wall - cache.panels[i].0 - PANEL_REFRESH_MS[i];
        let due: Vec<usize> = if embed {
            vec![]
        } else if all {
            (0..PANELS).collect()
        } else {
            (0..PANELS)
                .filter(|i| overdue(*i) >= 0.0)
                .max_by(|a, b| overdue(*a).total_cmp(&overdue(*b)))
                .into_iter()
                .collect()
        };
        for i in due {
            let html = match i {
                0 => html! { <MetricsPanel charts={charts(pb)} duration_ms={e.scenario.duration_ms} /> },
                1 => html! { <ProducerPanel producers={Rc::new(view.producers.clone())}
                on_why={{ let why = why.clone(); Callback::from(move |w| why.set(Some(w))) }} /> },
                2 => html! { <NetworkMatrix view={view.clone()} {default_link} on_fault={on_fault.clone()} /> },
                3 => html! { <ConfigPanel subjects={config_subjects(pb.sim())} now_ms={now.as_ns() as f64 / 1e6}
                on_change={on_fault.clone()} /> },
                _ => storage_panel(pb, &storage_choice, on_storage_select.clone(), on_segment_download.clone()),
            };
            cache.panels[i] = (wall, html);
        }
        cache.rendered |= !embed;
        cache.ticks = e.timeline.ticks();
        cache.choice = (*storage_choice).clone();
        cache.panels.iter().map(|(_, html)| html.clone()).collect::<Html>()
    };

    html! {
        <main class={classes!("app", embed.then_some("embed"))} data-testid="app" data-version={ui.version.to_string()}>
            if embed {
                { embed_header(&e.scenario.name) }
            } else {
                <ScenarioPicker name={e.scenario.name.clone()} description={e.scenario.description.clone()} {on_file} built_in={built_in_names()} {on_built_in}
                    fetching={ui.fetching} loads={ui.loads} />
            }
            if let Some(err) = &ui.error {
                <div class="error" role="alert" data-testid="error">{ err }</div>
            }
            { violation_banner(pb.violations()) }
            { why_box(pb.sim(), &why) }
            if let Some(notice) = storage_notice {
                <div class="notice" role="status" data-testid="storage-notice">{ notice }</div>
            }
            if let Some(url) = &ui.link {
                <div class="notice share" role="status">
                    { "Link to this run (copied to the clipboard): " }
                    <input readonly=true data-testid="run-link" value={url.clone()} aria-label="Link to this run" />
                </div>
            }
            <Controls playing={ui.playing} speed_exp={ui.speed_exp} cpu_bound={ui.playing && e.cpu_bound()} now_ns={now.as_ns()} end_ms={e.scenario.duration_ms}
                {on_toggle} {on_step} {on_step_back} {on_restart} {on_speed} {on_seek} on_copy_link={(!embed).then_some(on_copy_link)} />
            { narration_panel(&e.scenario.narration, now, &on_tour) }
            if !embed {
                { run_actions(&e.timeline, on_compare, comparison.as_deref()) }
            }
            <div class="stage">
                <section class="panel canvas">
                    <Cluster view={view.clone()} flights={flights} on_fault={on_fault.clone()} {default_link}
                        on_why={{ let why = why.clone(); Callback::from(move |w| why.set(Some(w))) }} />
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
                    <EventLog lines={lines} filter={(*log_filter).clone()} on_filter={{
                        let log_filter = log_filter.clone();
                        Callback::from(move |f: String| log_filter.set(f))
                    }} />
                }
            </div>
            if !embed {
                { panels }
                { seed_search_panel(&search.borrow(), search_frames.borrow().is_some(), on_search_start, on_search_stop, on_open_seed) }
            }
            <footer class="keys">
                if !embed { { "Space play/pause · ← → step one event back / forward · " } }
                { "seed " }{ pb.sim().seed() }{ " · trace hash " }
                <code data-testid="trace-hash">{ pb.sim().trace_hash().hex() }</code>
                if !embed {
                    { " · " }<span data-testid="storage-status">{ storage_text }</span>
                    { " " }<button class="small" data-testid="clear-storage" onclick={on_clear_storage}
                        title="Delete every segment stored in this browser (IndexedDB); mirroring resumes with the next run">{ "clear storage" }</button>
                }
                if !embed { { export_bar(&on_export) } }
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
/// The rendered event log: when (wall ms), for which filter, and the rows.
type LogCache = (f64, String, Rc<Vec<LogLine>>);

/// The newest [`LOG_LINES`] trace events whose node or text contains `filter` (any ASCII case:
/// the trace's text is ASCII but for `·`, and Unicode case tables would add ~12 KB to the
/// bundle), oldest first.
fn log_lines(pb: &Playback, filter: &str) -> Vec<LogLine> {
    let needle = filter.trim().to_ascii_lowercase();
    let mut lines: Vec<LogLine> = pb
        .log()
        .rev()
        .map(|ev| (ev.seq, ev.node.to_string(), format!("{} · {}", ev.at, ev.kind)))
        .filter(|(_, node, text)| {
            needle.is_empty()
                || node.to_ascii_lowercase().contains(&needle)
                || text.to_ascii_lowercase().contains(&needle)
        })
        .take(LOG_LINES)
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

/// (id, name) of each built-in scenario, for the picker.
fn built_in_names() -> Vec<(String, String)> {
    CATALOG.iter().map(|(id, name)| (id.to_string(), name.to_string())).collect()
}

/// An A/B comparison: the run before the last change (A) and this run (B), each to its end.
#[derive(Debug, PartialEq)]
pub struct Comparison {
    /// A and B, or why a branch did not replay.
    branches: [(String, Result<BranchOutcome, String>); 2],
}

impl Comparison {
    fn of(engine: &Engine) -> Comparison {
        let t = &engine.timeline;
        let run = |actions: &[RecordedAction]| {
            run_branch(&engine.scenario, engine.scenario.seed, actions.to_vec()).map_err(|e| e.to_string())
        };
        let describe = |actions: &[RecordedAction]| match actions.len() {
            0 => "no actions".to_string(),
            n => format!("{n} action(s)"),
        };
        let baseline = t.baseline().unwrap_or_default();
        Comparison {
            branches: [
                (format!("A: before the last change ({})", describe(baseline)), run(baseline)),
                (format!("B: this run ({})", describe(t.actions())), run(t.actions())),
            ],
        }
    }
}

/// The recorded actions (applied ones marked), and the A/B comparison once there is a fork.
fn run_actions(timeline: &Timeline, on_compare: Callback<MouseEvent>, comparison: Option<&Comparison>) -> Html {
    let actions = timeline.actions();
    let applied = timeline.applied();
    html! {
        <section class="run-actions" data-testid="run-actions" aria-label="Recorded actions">
            <span class="label" title="Faults and changes you made are recorded with the exact point they happened, so the run replays, scrubs and shares exactly">
                { "Recorded" }
            </span>
            if actions.is_empty() {
                <span class="muted">{ "nothing yet: right-click a broker or a link, use the network matrix or the config panel; every action is recorded into the run" }</span>
            }
            <ol>
                { for actions.iter().enumerate().map(|(i, a)| html! {
                    <li class={classes!((i >= applied).then_some("pending"))} data-testid="recorded-action"
                        title={ if i < applied { "applied at this point of the timeline" } else { "later in the timeline: replays when the clock gets there" } }>
                        <span class="at">{ format!("{} ms", fixed(a.at.as_ns() as f64 / 1e6, 1)) }</span>{ " " }{ action_text(&a.action) }
                    </li>
                }) }
            </ol>
            if timeline.baseline().is_some() {
                <button data-testid="compare" onclick={on_compare}
                    title="Run the branch before your last change (A) and this one (B) to the end and compare them">{ "Compare A/B" }</button>
            }
            if let Some(c) = comparison {
                { comparison_table(c) }
            }
        </section>
    }
}

fn comparison_table(c: &Comparison) -> Html {
    let row = |(name, outcome): &(String, Result<BranchOutcome, String>)| match outcome {
        Ok(o) => html! {
            <tr>
                <th scope="row">{ name }</th>
                <td>{ o.acked }</td><td class={classes!((o.lost > 0).then_some("bad"))}>{ o.lost }</td>
                <td>{ o.duplicates }</td><td>{ o.consumed }</td>
                <td>{ fixed(o.request_latency_avg_ms, 1) }</td>
                <td class={classes!((o.violations > 0).then_some("bad"))}>{ o.violations }</td>
                <td><code>{ &o.trace_hash }</code></td>
            </tr>
        },
        Err(e) => html! { <tr><th scope="row">{ name }</th><td colspan="7">{ e }</td></tr> },
    };
    html! {
        <table class="comparison" data-testid="comparison">
            <caption>{ "Both branches played to the scenario's end" }</caption>
            <thead><tr>
                <th></th><th title="records acknowledged to producers">{ "acked" }</th>
                <th title="acknowledged records missing or unavailable on their leader">{ "lost" }</th>
                <th title="extra copies of acknowledged records">{ "duplicates" }</th>
                <th title="records returned by poll()">{ "consumed" }</th>
                <th title="request-latency-avg, ms">{ "latency ms" }</th>
                <th title="safety rules broken">{ "violations" }</th><th>{ "trace hash" }</th>
            </tr></thead>
            <tbody>{ for c.branches.iter().map(row) }</tbody>
        </table>
    }
}

/// A recorded action in words.
fn action_text(action: &crate::sim::scenario::Action) -> String {
    use crate::sim::scenario::{Action as A, CrashKind};
    let dir = |both: bool| if both { "⇄" } else { "→" };
    match action {
        A::CrashBroker { broker, kind } => {
            format!("crash broker-{broker} ({})", if *kind == CrashKind::Machine { "machine" } else { "process" })
        }
        A::RestartBroker { broker } => format!("restart broker-{broker}"),
        A::CutLink { from, to, both } => format!("cut {from} {} {to}", dir(*both)),
        A::HealLink { from, to, both } => format!("heal {from} {} {to}", dir(*both)),
        A::HealAll => "heal every link".to_string(),
        A::SetLink { from, to, both, link } => format!("{from} {} {to}: {} latency", dir(*both), link.latency),
        A::ConsumerJoin { consumer } => format!("{consumer} joins"),
        A::ConsumerLeave { consumer } => format!("{consumer} leaves"),
        A::ConsumerCrash { consumer } => format!("{consumer} crashes"),
        A::ConfigChange { target, property, value } => match target {
            crate::sim::scenario::ConfigTarget::Node(id) => format!("{property}={value} on {id}"),
            crate::sim::scenario::ConfigTarget::Topic(t) => format!("{property}={value} on topic {t}"),
        },
    }
}

/// The scenario's guided tour: the step the clock is at, and buttons to the previous and next.
fn narration_panel(steps: &[NarrationStep], now: SimTime, on_tour: &Callback<bool>) -> Html {
    if steps.is_empty() {
        return html! {};
    }
    let current = steps.iter().rposition(|s| s.at <= now);
    let text = match current {
        Some(i) => steps[i].text.clone(),
        None => "Press Next to jump to the first moment that matters.".to_string(),
    };
    let position = current.map_or(0, |i| i + 1);
    let has_next = steps.iter().any(|s| s.at > now);
    html! {
        <section class="narration" data-testid="narration" aria-label="Guided tour" aria-live="polite">
            <span class="step" data-testid="narration-step">{ format!("{position}/{}", steps.len()) }</span>
            <p data-testid="narration-text">{ text }</p>
            <button data-testid="narration-prev" disabled={current.is_none_or(|i| i == 0)}
                onclick={on_tour.reform(|_: MouseEvent| false)} title="Back to the previous step of the tour">{ "‹ Prev" }</button>
            <button class="primary" data-testid="narration-next" disabled={!has_next}
                onclick={on_tour.reform(|_: MouseEvent| true)} title="Jump to the next moment that matters (and pause)">{ "Next ›" }</button>
        </section>
    }
}

/// Every node and topic with the properties set on it, for the config panel.
fn config_subjects(sim: &crate::sim::Sim) -> Rc<Vec<ConfigSubject>> {
    use crate::sim::config::Scope;
    use crate::sim::node::NodeKind;
    use crate::sim::scenario::ConfigTarget;
    let set = |target: &ConfigTarget| -> Vec<(String, String)> {
        sim.config_of(target)
            .map(|p| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for id in sim.node_ids() {
        let scope = match id.kind {
            NodeKind::Broker => Scope::Broker,
            NodeKind::Producer => Scope::Producer,
            NodeKind::Consumer => Scope::Consumer,
            NodeKind::Controller => continue,
        };
        let target = ConfigTarget::Node(id);
        out.push(ConfigSubject { label: id.to_string(), set: set(&target), target, scope });
    }
    for topic in sim.scenario().topics.iter().map(|t| t.name.clone()) {
        let target = ConfigTarget::Topic(topic.clone());
        out.push(ConfigSubject { label: format!("topic {topic}"), set: set(&target), target, scope: Scope::Topic });
    }
    Rc::new(out)
}

/// What the export buttons save.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ExportKind {
    /// The trace from t = 0 to now, as JSON lines (what `brokerscope run --trace` writes).
    Trace,
    /// The cluster view as SVG.
    Svg,
    /// The cluster view as PNG.
    Png,
}

fn export_bar(on_export: &Callback<ExportKind>) -> Html {
    let button = |kind: ExportKind, testid: &str, label: &str, title: &str| {
        html! {
            <button class="small" data-testid={testid.to_string()} title={title.to_string()}
                onclick={on_export.reform(move |_: MouseEvent| kind)}>{ label }</button>
        }
    };
    html! {
        <span class="export" role="group" aria-label="Export">
            { "Export: " }
            { button(ExportKind::Trace, "export-trace", "trace .jsonl", "Every trace event from t = 0 to now, as JSON lines (the same lines as brokerscope run --trace)") }
            { button(ExportKind::Svg, "export-svg", "view .svg", "The cluster view as an SVG file") }
            { button(ExportKind::Png, "export-png", "view .png", "The cluster view as a PNG image (2×)") }
        </span>
    }
}

/// The replica the storage panel shows: the one chosen, else the first replica of a user
/// topic (internal `__consumer_offsets` replicas come last).
fn chosen_replica(sim: &crate::sim::Sim, choice: &Option<(NodeId, String)>) -> Option<(NodeId, String)> {
    choice.clone().or_else(|| {
        let names = sim.replica_names();
        names.iter().find(|(_, tp)| !tp.starts_with("__")).or(names.first()).cloned()
    })
}

fn storage_panel(
    pb: &Playback,
    choice: &Option<(NodeId, String)>,
    on_select: Callback<(NodeId, String)>,
    on_download: Callback<(i64, &'static str)>,
) -> Html {
    let sim = pb.sim();
    let mut replicas = sim.replica_names();
    sort_by_key(&mut replicas, |(b, tp)| (tp.starts_with("__"), tp.clone(), *b));
    let chosen = chosen_replica(sim, choice);
    let storage = chosen.as_ref().and_then(|(b, tp)| sim.replica_storage(*b, tp)).map(Rc::new);
    let history: Vec<String> = chosen
        .as_ref()
        .map(|(b, tp)| pb.storage_history(*b, tp).map(|e| format!("{} · {}", e.at, e.kind)).collect())
        .unwrap_or_default();
    html! {
        <StoragePanel replicas={Rc::new(replicas)} {storage} history={Rc::new(history)} {on_select} {on_download} />
    }
}

fn seed_search_panel(
    search: &Option<SeedSearch>,
    looping: bool,
    on_start: Callback<(u64, u64)>,
    on_stop: Callback<()>,
    on_open: Callback<u64>,
) -> Html {
    let running = looping && search.as_ref().is_some_and(|s| !s.finished());
    let progress = search.as_ref().map_or((0, 0), |s| (s.done(), s.total()));
    let failing = Rc::new(search.as_ref().map(|s| s.failing().to_vec()).unwrap_or_default());
    html! { <SeedSearchPanel {running} {progress} {failing} {on_start} {on_stop} {on_open} /> }
}

/// The metric charts at the current time.
fn charts(pb: &Playback) -> Rc<Vec<Chart>> {
    let m = pb.metrics();
    Rc::new(
        crate::metrics::METRICS
            .iter()
            .enumerate()
            .map(|(i, spec)| Chart { spec: *spec, values: m.series(i, pb.now()) })
            .collect(),
    )
}

/// The "Why?" answer for what was clicked, recomputed at every position (it follows the clock).
fn why_box(sim: &crate::sim::Sim, why: &UseStateHandle<Option<WhySubject>>) -> Html {
    let Some(subject) = (**why).clone() else { return html! {} };
    let (title, answer) = match &subject {
        WhySubject::HighWatermark(broker, tp) => {
            (format!("Why is the HW of {tp} on {broker} here?"), sim.why_high_watermark(*broker, tp))
        }
        WhySubject::Consumer(id) => (format!("What is {id} waiting on?"), sim.why_consumer(*id)),
        WhySubject::Batch(producer, batch) => (
            format!("Why is {producer}'s batch {batch} waiting?"),
            crate::sim::why::why_batch(&sim.view(), *producer, *batch).or_else(|| {
                Some("It has left the accumulator: the Sender drained it into a Produce request.".to_string())
            }),
        ),
    };
    let close = {
        let why = why.clone();
        Callback::from(move |_: MouseEvent| why.set(None))
    };
    html! {
        <div class="why" role="status" aria-live="polite" data-testid="why">
            <strong>{ title }</strong>
            <p data-testid="why-text">{ answer.unwrap_or_else(|| "It is not in this run any more.".to_string()) }</p>
            <button class="small" data-testid="why-close" onclick={close} aria-label="Close">{ "✕" }</button>
        </div>
    }
}

#[cfg(all(test, feature = "embedded-library"))]
mod tests {
    use super::*;
    use std::cell::Cell;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn cooperative() -> Engine {
        Engine::built_in(CATALOG.iter().position(|(id, _)| *id == "cooperative-rebalance").unwrap()).unwrap()
    }

    #[wasm_bindgen_test]
    fn a_frame_out_of_budget_slows_the_clock_instead_of_running_late() {
        // 100 ms of wall time at 100× asks for 10 s simulated: thousands of events of this scenario.
        let mut fast = cooperative();
        assert!(!fast.advance_wall(100.0, 100.0, &|| 0.0).unwrap(), "no violation");
        assert_eq!(fast.playback().now(), SimTime::from_ms(10_000), "a clock that never moves: everything due ran");
        assert!(!fast.cpu_bound());
        assert!(fast.playback().sim().steps() > 3 * SIM_FRAME_STEPS, "the second is busier than the budget below");

        // A clock that moves 2 ms per look: the budget allows three slices of events.
        let mut slow = cooperative();
        let wall = Cell::new(0.0);
        let clock = || {
            wall.set(wall.get() + 2.0);
            wall.get()
        };
        slow.advance_wall(100.0, 100.0, &clock).unwrap();
        assert!(slow.cpu_bound());
        assert_eq!(slow.playback().sim().steps(), 3 * SIM_FRAME_STEPS);
        assert!(slow.playback().now() < SimTime::from_ms(10_000));
        // The backlog is dropped: the next frame asks for its own 100 ms only.
        let behind = slow.playback().now();
        slow.advance_wall(100.0, 100.0, &|| 0.0).unwrap();
        assert_eq!(slow.playback().now(), behind + crate::sim::time::SimDuration::from_ms(10_000));
        assert!(slow.cpu_bound(), "still shown for a while after the last bound frame");
    }
}
