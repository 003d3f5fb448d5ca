//! The app's segment persistence: the current run's logs mirrored into IndexedDB.
//!
//! On start the database is opened, every stored segment is CRC-checked (torn tails repaired)
//! and what was found is reported; the store is then cleared for the new run. After each run
//! slice the host drains the simulator's [`StoreOp`]s into [`Storage::record`]; one flush at a
//! time writes them. Any IndexedDB failure switches to memory only, with a visible notice.

use crate::sim::log::store::{SegmentStore, StoreOp};
use crate::sim::protocol::Tp;
use crate::web_store::IdbSegmentStore;
use std::cell::RefCell;
use std::rc::Rc;
use yew::Callback;

/// The database name.
pub const DATABASE: &str = "brokerscope-segments";

/// What the footer says about storage.
#[derive(Clone, Debug, PartialEq)]
pub enum StorageStatus {
    /// Opening the database.
    Opening,
    /// Mirroring into IndexedDB.
    IndexedDb {
        /// Segments stored.
        segments: usize,
    },
    /// IndexedDB is unavailable; the run lives in memory only.
    MemoryOnly(String),
}

/// Persistence state shared by the app and its async tasks.
pub struct Storage {
    store: Option<IdbSegmentStore>,
    queued: Vec<(u16, Tp, StoreOp)>,
    needs_clear: bool,
    flushing: bool,
    /// Current status.
    pub status: StorageStatus,
    /// What was found in the database when the page loaded.
    pub restored: Option<String>,
    /// Cleared by the user: nothing is mirrored until the next run starts.
    pub paused: bool,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            store: None,
            queued: vec![],
            needs_clear: false,
            flushing: false,
            status: StorageStatus::Opening,
            restored: None,
            paused: false,
        }
    }
}

impl Storage {
    /// True while a clear or a write is queued or running.
    pub fn busy(&self) -> bool {
        self.needs_clear || self.flushing
    }

    /// Queues store operations from the simulator.
    pub fn record(&mut self, ops: Vec<(u16, Tp, StoreOp)>) {
        if !matches!(self.status, StorageStatus::MemoryOnly(_)) && !self.paused {
            self.queued.extend(ops);
        }
    }

    fn fail(&mut self, why: String) {
        self.store = None;
        self.queued.clear();
        self.status = StorageStatus::MemoryOnly(why);
    }
}

/// Opens the database, reports what it held, and clears it for this run.
pub fn open(storage: Rc<RefCell<Storage>>, on_change: Callback<()>) {
    wasm_bindgen_futures::spawn_local(async move {
        match IdbSegmentStore::open(DATABASE).await {
            Ok((store, recoveries)) => {
                let found = store.keys().len();
                let repaired = match recoveries.len() {
                    0 => String::new(),
                    n => format!("; {n} torn tail(s) truncated"),
                };
                let mut s = storage.borrow_mut();
                s.restored = (found > 0).then(|| format!("restored {found} stored segment(s) from the previous session, every batch CRC-checked{repaired}"));
                s.status = StorageStatus::IndexedDb { segments: found };
                s.store = Some(store);
                s.needs_clear = true;
            }
            Err(e) => storage.borrow_mut().fail(e.to_string()),
        }
        on_change.emit(());
        flush(storage, on_change);
    });
}

/// Starts one flush task if none is running: clear (after a reset), apply, write.
pub fn flush(storage: Rc<RefCell<Storage>>, on_change: Callback<()>) {
    let (mut store, ops, clear_first) = {
        let mut s = storage.borrow_mut();
        if s.flushing || (s.queued.is_empty() && !s.needs_clear) {
            return;
        }
        let Some(store) = s.store.take() else { return };
        s.flushing = true;
        let clear_first = std::mem::take(&mut s.needs_clear);
        (store, std::mem::take(&mut s.queued), clear_first)
    };
    wasm_bindgen_futures::spawn_local(async move {
        let result = write(&mut store, ops, clear_first).await;
        {
            let mut s = storage.borrow_mut();
            s.flushing = false;
            match result {
                Ok(()) => {
                    s.status = StorageStatus::IndexedDb { segments: store.keys().len() };
                    s.store = Some(store);
                }
                Err(e) => s.fail(e),
            }
        }
        on_change.emit(());
        flush(storage, on_change);
    });
}

async fn write(store: &mut IdbSegmentStore, ops: Vec<(u16, Tp, StoreOp)>, clear_first: bool) -> Result<(), String> {
    if clear_first {
        store.clear().await.map_err(|e| e.to_string())?;
    }
    for (broker, tp, op) in ops {
        store.apply(broker, &tp.topic, tp.partition, &op).map_err(|e| format!("mirror out of step: {e}"))?;
    }
    store.flush().await.map(|_| ()).map_err(|e| e.to_string())
}

/// Starts the mirror over for a new run: queued operations of the old run are dropped and the
/// database is cleared before the new run's first write.
pub fn reset(storage: Rc<RefCell<Storage>>, on_change: Callback<()>) {
    {
        let mut s = storage.borrow_mut();
        if matches!(s.status, StorageStatus::MemoryOnly(_)) {
            return;
        }
        s.queued.clear();
        s.needs_clear = true;
    }
    flush(storage, on_change);
}

/// Deletes everything stored and stops mirroring until the next run ([`resume`]).
pub fn clear(storage: Rc<RefCell<Storage>>, on_change: Callback<()>) {
    {
        let mut s = storage.borrow_mut();
        s.paused = true;
        s.restored = None;
    }
    reset(storage, on_change);
}

/// A new run starts: mirroring resumes after a [`clear`].
pub fn resume(storage: &Rc<RefCell<Storage>>) {
    storage.borrow_mut().paused = false;
}
