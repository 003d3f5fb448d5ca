//! Play / pause / step / speed, and the simulated clock.

use crate::ui::model::{speed_label, SPEED_EXP_MAX, SPEED_EXP_MIN};
use crate::ui::num::fixed;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`Controls`].
#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    /// Playing or paused.
    pub playing: bool,
    /// Speed exponent (see `UiState::speed_exp`).
    pub speed_exp: i32,
    /// The simulation cannot keep up with the speed asked: the clock runs slower.
    pub cpu_bound: bool,
    /// Simulated time now, ns.
    pub now_ns: u64,
    /// Scenario end, ms.
    pub end_ms: u64,
    /// Play/pause pressed.
    pub on_toggle: Callback<()>,
    /// Step pressed.
    pub on_step: Callback<()>,
    /// Step back pressed.
    pub on_step_back: Callback<()>,
    /// The timeline was scrubbed to a time.
    pub on_seek: Callback<crate::sim::time::SimTime>,
    /// "Copy link" pressed (absent in embed mode).
    pub on_copy_link: Option<Callback<()>>,
    /// Restart pressed.
    pub on_restart: Callback<()>,
    /// Slider moved.
    pub on_speed: Callback<i32>,
}

/// The transport bar.
#[function_component(Controls)]
pub fn controls(props: &ControlsProps) -> Html {
    let toggle = props.on_toggle.reform(|_: MouseEvent| ());
    let step = props.on_step.reform(|_: MouseEvent| ());
    let step_back = props.on_step_back.reform(|_: MouseEvent| ());
    let seek = props.on_seek.reform(|e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        // The browser's number (parsing the text would compile core's float parser in).
        let tenths = input.value_as_number();
        let tenths = if tenths.is_finite() { tenths.max(0.0) } else { 0.0 };
        crate::sim::time::SimTime::from_ns((tenths * 100_000.0) as u64)
    });
    let restart = props.on_restart.reform(|_: MouseEvent| ());
    let speed = props.on_speed.reform(|e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        input.value().parse().unwrap_or(0)
    });
    let label = speed_label(js_sys::Math::pow(10.0, f64::from(props.speed_exp) / 100.0));
    let ms = props.now_ns as f64 / 1e6;
    let pct = if props.end_ms == 0 { 0.0 } else { (ms / props.end_ms as f64 * 100.0).min(100.0) };
    html! {
        <div class="controls" role="toolbar" aria-label="Playback">
            <button data-testid="play" class="primary" onclick={toggle} aria-keyshortcuts="Space"
                title="Play / pause (Space)" aria-label={ if props.playing { "Pause" } else { "Play" } }>
                { if props.playing { "❚❚ Pause" } else { "▶ Play" } }
            </button>
            <button data-testid="step-back" onclick={step_back} title="Step one event back (←)" aria-label="Step one event back" aria-keyshortcuts="ArrowLeft">{ "‹ Back" }</button>
            <button data-testid="step" onclick={step} title="Step one event (→)" aria-label="Step one event" aria-keyshortcuts="ArrowRight">{ "Step ›" }</button>
            <button data-testid="restart" onclick={restart} title="Restart the run from t = 0" aria-label="Restart">{ "↺ Restart" }</button>
            <label class="speed" title="Speed: simulated time per wall-clock time (log scale)">
                <span>{ "Speed" }</span>
                <input data-testid="speed" type="range" min={SPEED_EXP_MIN.to_string()} max={SPEED_EXP_MAX.to_string()}
                    step="5" value={props.speed_exp.to_string()} oninput={speed} aria-label="Speed, log scale" />
                <span class="speed-value">
                    <output data-testid="speed-label">{ label }</output>
                    // Positioned under the label, taking no room, so the bar never shifts.
                    if props.cpu_bound {
                        <span class="cpu-bound" data-testid="cpu-bound"
                            title="This machine cannot simulate this scenario at this speed within a frame: the clock runs slower than asked, so the animation stays smooth">{ "CPU-bound" }</span>
                    }
                </span>
            </label>
            <div class="clock" title="Simulated time">
                <span class="clock-label">{ "t =" }</span>
                <span data-testid="clock" data-now-ns={props.now_ns.to_string()}>{ format!("{} ms", fixed(ms, 3)) }</span>
                <span class="clock-end">{ format!(" / {} ms", props.end_ms) }</span>
            </div>
            <input class="timeline" data-testid="timeline" type="range" min="0" max={(props.end_ms * 10).to_string()} step="1"
                value={fixed(ms * 10.0, 0)} oninput={seek} style={format!("--done:{}%", fixed(pct, 2))}
                aria-label="Timeline: drag to move back and forth in simulated time" aria-valuetext={format!("{} ms", fixed(ms, 1))}
                title="Drag to scrub back and forth (snapshots + deterministic replay)" />
            if let Some(copy) = &props.on_copy_link {
                <button data-testid="copy-link" onclick={copy.reform(|_: MouseEvent| ())}
                    title="Copy a link that reopens this run here: scenario, seed, recorded actions, time and speed">{ "Copy link" }</button>
            }
        </div>
    }
}
