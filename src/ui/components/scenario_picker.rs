//! Choose a built-in scenario or open a scenario file.

use gloo::file::callbacks::FileReader;
use gloo::file::File;
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Props of [`ScenarioPicker`].
#[derive(Properties, PartialEq)]
pub struct ScenarioPickerProps {
    /// Name of the loaded scenario.
    pub name: String,
    /// Its description.
    pub description: String,
    /// A file was read: (file name, text).
    pub on_file: Callback<(String, String)>,
    /// Built-in scenarios as (id, name), in the order of `scenario::CATALOG`.
    pub built_in: Vec<(String, String)>,
    /// A built-in scenario chosen, by index.
    pub on_built_in: Callback<usize>,
    /// The built-in being fetched (its row says so; the library stays open until it loads).
    pub fetching: Option<usize>,
    /// Runs loaded so far: the library closes when this changes.
    pub loads: u64,
}

/// Scenario title, description and file input.
#[function_component(ScenarioPicker)]
pub fn scenario_picker(props: &ScenarioPickerProps) -> Html {
    let reader: Rc<RefCell<Option<FileReader>>> = use_mut_ref(|| None);
    let on_change = {
        let on_file = props.on_file.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            let file = File::from(file);
            let name = file.name();
            let on_file = on_file.clone();
            let task = gloo::file::callbacks::read_as_text(&file, move |text| {
                on_file.emit((name, text.unwrap_or_else(|e| format!("unreadable file: {e}"))));
            });
            *reader.borrow_mut() = Some(task);
            input.set_value("");
        })
    };
    let open = use_state(|| false);
    {
        let open = open.clone();
        use_effect_with(props.loads, move |_| open.set(false));
    }
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let chapters = crate::scenario::LIBRARY.iter().map(|(title, ids)| {
        let items = ids.iter().filter_map(|id| {
            let i = props.built_in.iter().position(|(known, _)| known == id)?;
            let name = props.built_in[i].1.clone();
            let onclick = props.on_built_in.reform(move |_: MouseEvent| i);
            let current = name == props.name;
            let fetching = props.fetching == Some(i);
            Some(html! {
                <li><button {onclick} class={classes!(current.then_some("current"), fetching.then_some("fetching"))} title={format!("Load “{name}”")}
                    data-testid={format!("load-{id}")} aria-pressed={current.to_string()} aria-busy={fetching.to_string()}>
                    <span class="number">{ i + 1 }</span>{ name }
                    if fetching { <span class="loading">{ " · loading…" }</span> }
                    </button></li>
            })
        });
        html! { <section><h3>{ *title }</h3><ul>{ for items }</ul></section> }
    });
    html! {
        <header class="scenario">
            <div class="title">
                <h1><span class="brand">{ "brokerscope" }</span><span class="sep">{ "·" }</span><span data-testid="scenario-name">{ &props.name }</span></h1>
                <p class="description">{ &props.description }</p>
            </div>
            <div class="picker">
                <button class="primary library-toggle" data-testid="library" onclick={toggle} aria-expanded={open.to_string()}
                    aria-controls="library" title="The scenario library: guided, narrated scenes">
                    { format!("Scenarios ({}) {}", props.built_in.len(), if *open { "▴" } else { "▾" }) }
                </button>
                <label class="file" title="Open a scenario JSON file">
                    { "Open file…" }
                    <input data-testid="scenario-file" type="file" accept=".json,application/json" onchange={on_change} aria-label="Open a scenario file" />
                </label>
                if *open {
                    <nav id="library" class="library" aria-label="Scenario library">{ for chapters }</nav>
                }
            </div>
        </header>
    }
}
