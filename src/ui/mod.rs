//! The web app (wasm32 only): a Yew UI over the same core as the CLI.
//!
//! `app` owns the engine ([`crate::playback::Playback`]) and the animation clock; `model` is the
//! UI state reducer; `components/` are thin views, one per file.

mod api;
mod app;
mod components;
mod frames;
mod layout;
mod model;
mod storage;

pub use app::App;

/// Mounts the app on the page body.
pub fn start() {
    console_error_panic_hook::set_once();
    yew::Renderer::<App>::new().render();
}
