//! The most recent trace events, newest at the bottom.

use yew::prelude::*;

/// Props of [`EventLog`].
#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    /// Pre-rendered one-line events, oldest first.
    pub lines: std::rc::Rc<Vec<(u64, String, String)>>,
}

/// A scrolling list of trace lines. Rows are unkeyed on purpose: while playing, the newest
/// lines replace the text of the same 16 rows instead of creating and laying out new ones.
#[function_component(EventLog)]
pub fn event_log(props: &EventLogProps) -> Html {
    html! {
        <section class="panel event-log" data-testid="event-log" aria-label="Event log">
            <h2>{ "Trace" }<span class="hint">{ " newest last" }</span></h2>
            if props.lines.is_empty() {
                <p class="empty">{ "Nothing has happened yet. Press Play (Space) or step one event (→)." }</p>
            }
            <ol>
                { for props.lines.iter().map(|(seq, node, text)| html! {
                    <li title={text.clone()}><span class="seq">{ format!("#{seq}") }</span><span class="node">{ node }</span><span>{ text }</span></li>
                }) }
            </ol>
        </section>
    }
}
