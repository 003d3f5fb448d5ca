//! The web app (wasm32 only): a Yew UI over the same core as the CLI.
//!
//! `app` owns the engine (a [`crate::timeline::Timeline`]) and the animation clock; `model` is the
//! UI state reducer; `components/` are thin views, one per file.

mod api;
mod app;
pub mod bench_worker;
mod components;
mod export;
mod frames;
mod layout;
mod model;
mod storage;

pub use app::App;

/// Mounts the app on the page body, unless the body says `data-api-only` (a page that only
/// uses the JavaScript API, such as `www/api-example.html`).
pub fn start() {
    console_error_panic_hook::set_once();
    let api_only = gloo::utils::document().body().is_some_and(|b| b.has_attribute("data-api-only"));
    if !api_only {
        yew::Renderer::<App>::new().render();
    }
}
