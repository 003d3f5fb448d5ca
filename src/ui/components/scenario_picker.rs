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
    /// Built-in scenarios as (id, name), in the order of `scenario::BUILT_IN`.
    pub built_in: Vec<(String, String)>,
    /// A built-in scenario chosen, by index.
    pub on_built_in: Callback<usize>,
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
    let built_in = props.built_in.iter().enumerate().map(|(i, (id, name))| {
        let onclick = props.on_built_in.reform(move |_: MouseEvent| i);
        let current = *name == props.name;
        html! {
            <button {onclick} class={classes!(current.then_some("current"))} title={format!("Load the built-in scenario “{name}”")}
                data-testid={format!("load-{id}")} aria-pressed={current.to_string()}>{ name }</button>
        }
    });
    html! {
        <header class="scenario">
            <div class="title">
                <h1><span class="brand">{ "brokerscope" }</span><span class="sep">{ "·" }</span><span data-testid="scenario-name">{ &props.name }</span></h1>
                <p class="description">{ &props.description }</p>
            </div>
            <div class="picker">
                { for built_in }
                <label class="file" title="Open a scenario JSON file">
                    { "Open scenario…" }
                    <input data-testid="scenario-file" type="file" accept=".json,application/json" onchange={on_change} aria-label="Open a scenario file" />
                </label>
            </div>
        </header>
    }
}
