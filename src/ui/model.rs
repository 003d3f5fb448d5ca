//! UI state as a reducer (no engine, no effects in here).

use crate::ui::num::fixed;
use std::rc::Rc;
use yew::Reducible;

/// Speed slider bounds, in hundredths of log10(sim ms per wall ms): 0.001× to 100×.
pub use crate::url_params::{SPEED_EXP_MAX, SPEED_EXP_MIN};
/// Default: about 0.03× real time, so a 10 ms network hop takes about 0.3 s on screen.
pub const SPEED_EXP_DEFAULT: i32 = -150;

/// What the controls show.
#[derive(Clone, Debug, PartialEq)]
pub struct UiState {
    /// Playing or paused.
    pub playing: bool,
    /// Speed as 100·log10(simulated ms per wall ms).
    pub speed_exp: i32,
    /// Bumped whenever the engine changed, to re-render.
    pub version: u64,
    /// The last input error, shown in a banner.
    pub error: Option<String>,
    /// The last link copied (shown so it can also be copied by hand).
    pub link: Option<String>,
    /// The built-in scenario being fetched, by index in `scenario::CATALOG`.
    pub fetching: Option<usize>,
    /// Runs loaded so far (the library closes when this changes).
    pub loads: u64,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            playing: false,
            speed_exp: SPEED_EXP_DEFAULT,
            version: 0,
            error: None,
            link: None,
            fetching: None,
            loads: 0,
        }
    }
}

impl UiState {
    /// The first state for what the URL asked (an invalid URL shows its error and the defaults).
    pub fn from_params(params: &Result<crate::url_params::ViewParams, crate::url_params::ParamError>) -> Self {
        match params {
            Ok(p) => UiState {
                playing: p.autoplay,
                speed_exp: p.speed_exp.unwrap_or(SPEED_EXP_DEFAULT),
                ..UiState::default()
            },
            Err(e) => UiState { error: Some(e.to_string()), ..UiState::default() },
        }
    }
}

impl UiState {
    /// Simulated milliseconds per wall millisecond.
    pub fn speed(&self) -> f64 {
        // JavaScript's Math: compiling libm's pow, sin and cos into the wasm costs about 7 KB.
        js_sys::Math::pow(10.0, f64::from(self.speed_exp) / 100.0)
    }
}

/// Everything that changes the UI state.
pub enum Action {
    /// Play or pause.
    TogglePlay,
    /// Pause (at the end of a run).
    Pause,
    /// New speed exponent.
    SetSpeed(i32),
    /// The engine changed.
    Changed,
    /// A user action was applied (a stale input error goes).
    Applied,
    /// A built-in scenario (by index) is being fetched to load it.
    Fetching(usize),
    /// The built-in being fetched could not be loaded: why.
    FetchFailed(String),
    /// A new run was loaded.
    Loaded,
    /// Show an error.
    Error(String),
    /// A link to the run was made.
    Linked(String),
}

impl Reducible for UiState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::TogglePlay => next.playing = !next.playing,
            Action::Pause => next.playing = false,
            Action::SetSpeed(exp) => next.speed_exp = exp.clamp(SPEED_EXP_MIN, SPEED_EXP_MAX),
            Action::Changed => next.version += 1,
            Action::Applied => {
                next.version += 1;
                next.error = None;
            }
            Action::Fetching(index) => next.fetching = Some(index),
            Action::Loaded => {
                next.fetching = None;
                next.loads += 1;
                next.version += 1;
                next.playing = false;
                next.error = None;
                next.link = None;
            }
            Action::FetchFailed(e) => {
                next.fetching = None;
                next.error = Some(e);
                next.link = None;
            }
            Action::Error(e) => {
                next.error = Some(e);
                next.link = None;
            }
            Action::Linked(url) => {
                next.link = Some(url);
                next.error = None;
            }
        }
        Rc::new(next)
    }
}

/// Formats a speed for the label, e.g. `0.05×`.
pub fn speed_label(speed: f64) -> String {
    if speed >= 10.0 {
        format!("{}×", fixed(speed, 0))
    } else if speed >= 0.1 {
        format!("{}×", fixed(speed, 2))
    } else {
        format!("{}×", fixed(speed, 3))
    }
}
