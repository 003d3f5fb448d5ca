//! The most recent trace events, newest at the bottom.

use yew::prelude::*;

/// Props of [`EventLog`].
#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    /// Pre-rendered one-line events, oldest first.
    pub lines: std::rc::Rc<Vec<(u64, String, String)>>,
    /// The filter: a node (`broker-2`) or any text of a line (`orders-1`); empty shows all.
    pub filter: String,
    /// The filter was edited.
    pub on_filter: Callback<String>,
}

/// A scrolling list of trace lines. Rows are unkeyed on purpose: while playing, the newest
/// lines replace the text of the same 16 rows instead of creating and laying out new ones.
#[function_component(EventLog)]
pub fn event_log(props: &EventLogProps) -> Html {
    html! {
        <section class="panel event-log" data-testid="event-log" aria-label="Event log">
            <h2>{ "Trace" }<span class="hint">{ " newest last" }</span></h2>
            <input class="filter" type="search" data-testid="log-filter" value={props.filter.clone()} placeholder="filter: broker-2, orders-1, ISR…"
                aria-label="Filter the trace by node, partition or text" title="Shows the lines whose node or text matches, among the latest events"
                oninput={props.on_filter.reform(|e: InputEvent| e.target_unchecked_into::<web_sys::HtmlInputElement>().value())} />
            if props.lines.is_empty() && props.filter.is_empty() {
                <p class="empty">{ "Nothing has happened yet. Press Play (Space) or step one event (→)." }</p>
            } else if props.lines.is_empty() {
                <p class="empty">{ format!("No recent event matches “{}”.", props.filter) }</p>
            }
            <ol>
                { for props.lines.iter().map(|(seq, node, text)| html! {
                    <li title={text.clone()}><span class="seq">{ format!("#{seq}") }</span><span class="node">{ node }</span><span>{ text }</span></li>
                }) }
            </ol>
        </section>
    }
}
