//! Seed search: run the scenario over many seeds in the background (between frames, so the
//! page stays responsive), with a progress bar; a failing seed opens in the viewer.

use crate::seed_search::FailingSeed;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`SeedSearchPanel`].
#[derive(Properties, PartialEq)]
pub struct SeedSearchPanelProps {
    /// A search is running.
    pub running: bool,
    /// Seeds checked, and in the search (0 before the first search).
    pub progress: (u64, u64),
    /// Failing seeds found.
    pub failing: Rc<Vec<FailingSeed>>,
    /// Start: (first seed, how many).
    pub on_start: Callback<(u64, u64)>,
    /// Stop the running search.
    pub on_stop: Callback<()>,
    /// Open a seed in the viewer.
    pub on_open: Callback<u64>,
}

/// Most seeds one search may ask for.
pub const SEARCH_SEEDS_MAX: u64 = 100_000;

/// The panel.
#[function_component(SeedSearchPanel)]
pub fn seed_search_panel(props: &SeedSearchPanelProps) -> Html {
    // Controlled inputs: a re-render while seeds run keeps what was typed.
    let from = use_state(|| "1".to_string());
    let count = use_state(|| "100".to_string());
    let edit = |field: &UseStateHandle<String>| {
        let field = field.clone();
        Callback::from(move |e: InputEvent| field.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let start = {
        let (from, count, on_start) = (from.clone(), count.clone(), props.on_start.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let read = |text: &str, default: u64| text.trim().parse().unwrap_or(default);
            on_start.emit((read(&from, 1), read(&count, 100).clamp(1, SEARCH_SEEDS_MAX)));
        })
    };
    let (done, total) = props.progress;
    let status = match (props.running, total) {
        (_, 0) => "Runs this scenario (with its own faults) over many seeds and lists those where an acknowledged record was lost or a safety rule broke.".to_string(),
        (true, _) => format!("{done} of {total} seeds checked, {} failing so far…", props.failing.len()),
        (false, _) => format!("{done} of {total} seeds checked: {} failing.", props.failing.len()),
    };
    html! {
        <details class="panel seeds" data-testid="seed-search">
            <summary><h2>{ "Seed search" }<span class="hint">{ " · find a seed that breaks a rule, then watch it" }</span></h2></summary>
            <form class="seed-form" onsubmit={start}>
                <label>{ "first seed " }<input type="number" min="0" value={(*from).clone()} oninput={edit(&from)} data-testid="seed-from" aria-label="First seed" /></label>
                <label>{ "seeds " }<input type="number" min="1" max={SEARCH_SEEDS_MAX.to_string()} value={(*count).clone()} oninput={edit(&count)} data-testid="seed-count" aria-label="How many seeds" /></label>
                if props.running {
                    <button type="button" data-testid="seed-stop" onclick={props.on_stop.reform(|_: MouseEvent| ())}>{ "Stop" }</button>
                } else {
                    <button type="submit" class="primary" data-testid="seed-start">{ "Search" }</button>
                }
                <progress data-testid="seed-progress" max={total.max(1).to_string()} value={done.to_string()}
                    aria-label="Seeds checked"></progress>
            </form>
            <p class="muted" data-testid="seed-status" aria-live="polite">{ status }</p>
            if !props.failing.is_empty() {
                <ul class="failing" data-testid="seed-failing">
                    { for props.failing.iter().map(|f| {
                        let seed = f.seed;
                        let first = f.violations.first().cloned().unwrap_or_else(|| format!("{} acknowledged records lost", f.acked_lost));
                        html! {
                            <li>
                                <button class="small" data-testid={format!("seed-open-{seed}")} onclick={props.on_open.reform(move |_: MouseEvent| seed)}
                                    title="Open this seed in the viewer">{ format!("Open seed {seed}") }</button>
                                <span>{ first }</span>
                                if f.violations.len() > 1 { <span class="muted">{ format!(" (+{} more)", f.violations.len() - 1) }</span> }
                            </li>
                        }
                    }) }
                </ul>
            }
        </details>
    }
}
