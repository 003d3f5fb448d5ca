//! The config panel: the Kafka properties each node and topic runs with, and a form that
//! changes one at the current time — validated by the same rules, with the same messages, as a
//! scenario file in the CLI. The change is recorded into the run; made in the past, it forks.

use crate::sim::config::{names, Scope};
use crate::sim::scenario::{Action, ConfigTarget};
use crate::ui::num::fixed;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// One thing that has properties.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigSubject {
    /// `broker-1`, `producer-1`, `topic orders`.
    pub label: String,
    /// Where a change applies.
    pub target: ConfigTarget,
    /// Which property names apply.
    pub scope: Scope,
    /// The properties set explicitly (everything else is Kafka's default).
    pub set: Vec<(String, String)>,
}

/// Props of [`ConfigPanel`].
#[derive(Properties, PartialEq)]
pub struct ConfigPanelProps {
    /// Every node and topic with its properties.
    pub subjects: Rc<Vec<ConfigSubject>>,
    /// Simulated time now, ms (shown on the button).
    pub now_ms: f64,
    /// A change to apply now.
    pub on_change: Callback<Action>,
}

/// The panel.
#[function_component(ConfigPanel)]
pub fn config_panel(props: &ConfigPanelProps) -> Html {
    let selected = use_state(|| 0usize);
    let (open, on_fold) = super::use_fold(false);
    let property = use_node_ref();
    let value = use_node_ref();
    let index = (*selected).min(props.subjects.len().saturating_sub(1));
    let Some(subject) = props.subjects.get(index) else { return html! {} };
    let on_select = {
        let selected = selected.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            selected.set(select.value().parse().unwrap_or(0));
        })
    };
    let apply = {
        let (property, value, on_change, target) =
            (property.clone(), value.clone(), props.on_change.clone(), subject.target.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let read = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let (name, text) = (read(&property).trim().to_string(), read(&value).trim().to_string());
            on_change.emit(Action::ConfigChange { target: target.clone(), property: name, value: text });
        })
    };
    let list_id = format!("props-{}", subject.scope.name());
    html! {
        <details class="panel config" data-testid="config-panel" {open} ontoggle={on_fold}>
            <summary><h2>{ "Config" }<span class="hint">{ " · Kafka properties; change one at the current time" }</span></h2></summary>
            if open {
            <div class="config-body">
                <label class="subject">{ "Applies to " }
                    <select data-testid="config-target" onchange={on_select} aria-label="Node or topic">
                        { for props.subjects.iter().enumerate().map(|(i, s)| html! {
                            <option value={i.to_string()} selected={i == index}>{ &s.label }</option>
                        }) }
                    </select>
                </label>
                <table class="props" data-testid="config-set">
                    <caption>{ format!("{} properties set on {} (the rest are Kafka's defaults)", subject.set.len(), subject.label) }</caption>
                    <tbody>
                        { for subject.set.iter().map(|(k, v)| html! { <tr><th scope="row">{ k }</th><td>{ v }</td></tr> }) }
                    </tbody>
                </table>
                <form class="change" onsubmit={apply}>
                    <input ref={property} data-testid="config-property" list={list_id.clone()} placeholder="property, e.g. acks"
                        aria-label="Kafka property name" spellcheck="false" autocomplete="off" />
                    <span>{ "=" }</span>
                    <input ref={value} data-testid="config-value" placeholder="value" aria-label="Value" spellcheck="false" autocomplete="off" />
                    <button type="submit" class="primary" data-testid="config-apply"
                        title="Change it now; recorded into the run (in the past, this forks a new branch to compare)">
                        { format!("Apply at {} ms", fixed(props.now_ms, 1)) }
                    </button>
                </form>
                <datalist id={list_id}>
                    { for names(subject.scope).map(|n| html! { <option value={n} /> }) }
                </datalist>
            </div>
            }
        </details>
    }
}
