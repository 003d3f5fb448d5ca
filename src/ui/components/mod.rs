//! View components, one per file.

pub mod cluster;
pub mod config_panel;
pub mod controls;
pub mod event_log;
pub mod metrics_panel;
pub mod network_matrix;
pub mod producer_panel;
pub mod scenario_picker;
pub mod seed_search_panel;
pub mod storage_panel;

use yew::prelude::*;

/// A folding panel's open state, for `<details ontoggle={…} open={…}>`: a closed panel renders
/// only its summary, so its body costs nothing while the run plays.
#[hook]
pub fn use_fold(initially_open: bool) -> (bool, Callback<Event>) {
    let open = use_state(|| initially_open);
    let on_toggle = {
        let open = open.clone();
        Callback::from(move |e: Event| {
            let details: web_sys::Element = e.target_unchecked_into();
            open.set(details.has_attribute("open"));
        })
    };
    (*open, on_toggle)
}
