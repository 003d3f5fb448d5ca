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
mod library;
mod model;
mod num;
mod storage;

pub use app::App;

/// A browser error as one line: `name: message` for an `Error` or `DOMException`, the text of a
/// thrown string, else its JSON. The app's fetches, exports and IndexedDB store all say it so.
pub(crate) fn js_error_text(e: &wasm_bindgen::JsValue) -> String {
    let field = |name: &str| js_sys::Reflect::get(e, &wasm_bindgen::JsValue::from_str(name)).ok()?.as_string();
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (_, Some(message)) => message,
        _ => e
            .as_string()
            .or_else(|| js_sys::JSON::stringify(e).ok()?.as_string())
            .unwrap_or_else(|| "the browser refused the request".to_string()),
    }
}

/// Mounts the app on the page body, unless the body says `data-api-only` (a page that only
/// uses the JavaScript API, such as `www/api-example.html`).
pub fn start() {
    console_error_panic_hook::set_once();
    let api_only = gloo::utils::document().body().is_some_and(|b| b.has_attribute("data-api-only"));
    if api_only {
        return;
    }
    // A built-in scenario the URL names (without a scenario file of its own) is fetched before
    // the app starts, so it opens at once with that run; if the fetch fails, the app opens
    // hello and says why.
    let search = gloo::utils::window().location().search().unwrap_or_default();
    let wanted = crate::url_params::parse(&search).ok().filter(|p| p.scenario_json.is_none()).and_then(|p| p.scenario);
    match wanted {
        Some(index) if library::text(index).is_none() => {
            library::fetch(index, |_| drop(yew::Renderer::<App>::new().render()))
        }
        _ => drop(yew::Renderer::<App>::new().render()),
    }
}
