//! The built-in scenarios' JSON in the web app. `hello.json` is compiled in; the others are
//! fetched from `scenarios/<id>.json` (served next to the app, `www/scenarios/`) the first time
//! one is opened, and kept for the page's life. A build with the `embedded-library` feature (the
//! browser tests') has them all compiled in and never fetches.

use crate::scenario::CATALOG;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// A fetch's outcome: the text, or why it failed.
type Fetched = Result<Rc<str>, String>;

thread_local! {
    /// By index in [`CATALOG`]: the fetched text, or why its last fetch failed (a plain vector:
    /// a map type of its own would cost more code than this whole module).
    static FETCHED: RefCell<Vec<Option<Fetched>>> = const { RefCell::new(Vec::new()) };
}

/// What the last fetch of built-in `index` gave, if any.
fn fetched(index: usize) -> Option<Fetched> {
    FETCHED.with(|f| f.borrow().get(index).cloned().flatten())
}

/// The JSON of built-in scenario `index` if it is at hand: compiled in or fetched before.
pub fn text(index: usize) -> Option<Rc<str>> {
    #[cfg(feature = "embedded-library")]
    return crate::scenario::BUILT_IN.get(index).map(|(_, json)| Rc::from(*json));
    #[cfg(not(feature = "embedded-library"))]
    match index {
        0 => Some(Rc::from(crate::scenario::HELLO_JSON)),
        _ => fetched(index).and_then(Result::ok),
    }
}

/// Why built-in scenario `index` is not at hand: its fetch's error, or that it was not fetched.
pub fn missing(index: usize) -> String {
    let id = CATALOG.get(index).map_or("?", |(id, _)| *id);
    match fetched(index) {
        Some(Err(e)) => e,
        _ => format!("scenario {id}: scenarios/{id}.json is not loaded"),
    }
}

/// Calls `done` with the JSON of built-in scenario `index`: at once when it is at hand, else
/// after fetching `scenarios/<id>.json`, or with a one-line error naming the file.
pub fn fetch(index: usize, done: impl FnOnce(Result<Rc<str>, String>) + 'static) {
    if let Some(text) = text(index) {
        return done(Ok(text));
    }
    let Some((id, _)) = CATALOG.get(index) else {
        return done(Err(format!("scenario: no built-in number {}", index + 1)));
    };
    let url = format!("scenarios/{id}.json");
    wasm_bindgen_futures::spawn_local(async move {
        // A file that does not parse is kept as an error, like one that did not arrive: the
        // next time it is opened, it is fetched again.
        let result = get(&url).await.map_err(|e| format!("scenario {id}: {url}: {e}")).and_then(|text| {
            match crate::scenario::parse_json(&text) {
                Ok(_) => Ok(Rc::<str>::from(text)),
                Err(e) => Err(format!("scenario {id}: {e}")),
            }
        });
        FETCHED.with(|f| {
            let mut f = f.borrow_mut();
            if f.len() <= index {
                f.resize(index + 1, None);
            }
            f[index] = Some(result.clone());
        });
        done(result);
    });
}

/// GETs `url` (relative to the page) as text.
async fn get(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(url)).await.map_err(js_error)?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| "not a response".to_string())?;
    if !response.ok() {
        return Err(format!("HTTP {} {}", response.status(), response.status_text()));
    }
    let text = JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?;
    text.as_string().ok_or_else(|| "not text".to_string())
}

/// A JavaScript error as one line.
fn js_error(e: wasm_bindgen::JsValue) -> String {
    super::js_error_text(&e)
}
