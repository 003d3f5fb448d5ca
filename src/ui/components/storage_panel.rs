//! The storage drill-down: one replica's log as segments, with its sparse `.index` and
//! `.timeindex` entries, the offsets that bound it, the settings that roll, retain and compact
//! it, its latest storage events, and each segment's files to download as Kafka writes them.

use crate::sim::node::NodeId;
use crate::sim::storage_view::ReplicaStorageView;
use std::rc::Rc;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// Index entries listed per segment (the rest are counted).
const INDEX_ENTRIES_SHOWN: usize = 6;

/// Props of [`StoragePanel`].
#[derive(Properties, PartialEq)]
pub struct StoragePanelProps {
    /// Every replica, as (broker, `topic-partition`).
    pub replicas: Rc<Vec<(NodeId, String)>>,
    /// The chosen replica's storage.
    pub storage: Option<Rc<ReplicaStorageView>>,
    /// Its latest storage events, as text lines.
    pub history: Rc<Vec<String>>,
    /// A replica was chosen.
    pub on_select: Callback<(NodeId, String)>,
    /// A segment file was asked for: (base offset, `log` / `index` / `timeindex`).
    pub on_download: Callback<(i64, &'static str)>,
}

/// The panel.
#[function_component(StoragePanel)]
pub fn storage_panel(props: &StoragePanelProps) -> Html {
    let (open, on_fold) = super::use_fold(false);
    let on_select = {
        let (replicas, on_select) = (props.replicas.clone(), props.on_select.clone());
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            if let Some(r) = select.value().parse::<usize>().ok().and_then(|i| replicas.get(i)) {
                on_select.emit(r.clone());
            }
        })
    };
    let chosen = props.storage.as_ref().map(|s| (s.broker, s.tp.clone()));
    html! {
        <details class="panel storage" data-testid="storage-panel" {open} ontoggle={on_fold}>
            <summary><h2>{ "Storage" }<span class="hint">{ " · a replica's segments, indexes, retention and compaction" }</span></h2></summary>
            if open {
            <label class="subject">{ "Replica " }
                <select data-testid="storage-replica" onchange={on_select} aria-label="Replica">
                    { for props.replicas.iter().enumerate().map(|(i, r)| html! {
                        <option value={i.to_string()} selected={chosen.as_ref() == Some(r)}>{ format!("{} on {}", r.1, r.0) }</option>
                    }) }
                </select>
            </label>
            { for props.storage.as_ref().map(|s| details(s, &props.history, &props.on_download)) }
            }
        </details>
    }
}

fn details(s: &ReplicaStorageView, history: &[String], on_download: &Callback<(i64, &'static str)>) -> Html {
    html! {
        <div class="storage-body">
            <p class="bounds" data-testid="storage-bounds">
                { format!("log start {} · HW {} · LEO {} · flushed below {} · {} segment(s)",
                    s.log_start_offset, s.high_watermark, s.log_end_offset, s.recovery_point, s.segments.len()) }
            </p>
            <p class="settings">{ for s.settings.iter().map(|(k, v)| html! { <span><code>{ *k }</code>{ "=" }{ v }</span> }) }</p>
            <table class="segments" data-testid="storage-segments">
                <thead><tr>
                    <th>{ "segment (base offset)" }</th><th>{ "offsets" }</th><th>{ "bytes" }</th><th>{ "batches" }</th>
                    <th title="sparse offset index: offset → byte position in .log">{ ".index" }</th>
                    <th title="sparse time index: timestamp → offset">{ ".timeindex" }</th><th>{ "files" }</th>
                </tr></thead>
                <tbody>{ for s.segments.iter().map(|seg| {
                    let file = |ext: &'static str| {
                        let base = seg.base_offset;
                        html! { <button class="small" data-testid={format!("download-{base}-{ext}")}
                            title={format!("Download {}.{ext} as Kafka writes it", crate::sim::log::segment::file_stem(base))}
                            onclick={on_download.reform(move |_: MouseEvent| (base, ext))}>{ format!(".{ext}") }</button> }
                    };
                    let index: Vec<String> = seg.offset_index.iter().take(INDEX_ENTRIES_SHOWN).map(|(o, p)| format!("{o}→{p}")).collect();
                    let more = seg.offset_index.len().saturating_sub(INDEX_ENTRIES_SHOWN);
                    html! {
                        <tr class={classes!(seg.active.then_some("active"))}>
                            <td><code>{ crate::sim::log::segment::file_stem(seg.base_offset) }</code>{ if seg.active { " (active)" } else { "" } }</td>
                            <td>{ format!("{}–{}", seg.base_offset, seg.next_offset - 1) }</td>
                            <td>{ seg.size_bytes }</td><td>{ seg.batches }</td>
                            <td class="index">{ index.join(" ") }{ if more > 0 { format!(" +{more}") } else { String::new() } }</td>
                            <td>{ format!("{} entr{}", seg.time_index.len(), if seg.time_index.len() == 1 { "y" } else { "ies" }) }</td>
                            <td class="files">{ file("log") }{ file("index") }{ file("timeindex") }</td>
                        </tr>
                    }
                }) }</tbody>
            </table>
            <h3>{ "Latest storage events" }</h3>
            if history.is_empty() {
                <p class="muted">{ "none yet: no roll, retention deletion, truncation or compaction pass" }</p>
            } else {
                <ol class="history" data-testid="storage-history">{ for history.iter().map(|h| html! { <li>{ h }</li> }) }</ol>
            }
        </div>
    }
}
