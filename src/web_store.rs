//! The IndexedDB segment store (wasm32 only): a write-behind mirror of the core's logs.
//!
//! The core never awaits. It records [`StoreOp`]s; after each run slice the host applies them to
//! an [`IdbSegmentStore`], which updates its in-memory copy at once (so it meets the synchronous
//! [`SegmentStore`] contract) and queues the writes; [`IdbSegmentStore::flush`] then writes the
//! queue in one IndexedDB transaction.
//!
//! Layout: one object store, one record per appended chunk (whole batches), keyed
//! `[broker, topic, partition, base_offset_20, position_10]`. Offsets and positions are
//! zero-padded decimal strings, so keys sort numerically even above 2^53−1, where a JS number
//! would lose precision. A segment's chunks form a contiguous key range, so truncating or
//! deleting a segment is a range delete.
//!
//! On [`IdbSegmentStore::open`] every segment is reassembled and every batch's CRC checked; a
//! torn or corrupt tail is cut back to the last valid batch, the cut is written back, and a
//! [`Recovery`] reports it. A database that cannot be opened is an error the caller turns into
//! a visible "in memory only" notice.

use crate::sim::log::store::{MemSegmentStore, SegmentKey, SegmentStore, StoreError};
use crate::sim::record::RecordBatch;
use crate::sim::vec_map::VecMap;
use js_sys::{Array, Function, Promise, Uint8Array};
use std::ops::Range;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode};

const OBJECT_STORE: &str = "segment_chunks";
const SCHEMA_VERSION: u32 = 1;

/// A segment whose stored tail failed validation and was cut back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// The segment.
    pub key: SegmentKey,
    /// Bytes kept (whole valid batches).
    pub kept_bytes: u64,
    /// Bytes dropped.
    pub dropped_bytes: u64,
    /// Why, naming the byte position and field.
    pub error: String,
}

#[derive(Clone, Debug)]
enum Pending {
    Put { key: Vec<JsValue>, bytes: Vec<u8> },
    DeleteRange { lower: Vec<JsValue>, upper: Vec<JsValue> },
}

/// Segments in IndexedDB, mirrored in memory.
pub struct IdbSegmentStore {
    db: IdbDatabase,
    memory: MemSegmentStore,
    pending: Vec<Pending>,
    /// Per segment, the queued `Put` that its next contiguous append extends (index into
    /// `pending`, end position): one chunk per segment per flush instead of one per batch.
    open_chunks: VecMap<SegmentKey, (usize, u64)>,
}

/// A browser error (a `DOMException` or a thrown value) as one line: `name: message`.
fn js_err(e: JsValue) -> StoreError {
    StoreError::Backend(crate::ui::js_error_text(&e))
}

/// A promise and the functions that settle it.
fn promise() -> (Promise, Function, Function) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.expect("a promise's executor runs at once");
    (promise, resolve, reject)
}

/// Waits for an IndexedDB request: its result, or its error. (The browser API is callbacks;
/// this is the whole of what the `idb` crate did for this store, without its code in the wasm.)
async fn settled(request: &IdbRequest) -> Result<JsValue, StoreError> {
    let (promise, resolve, reject) = promise();
    let req = request.clone();
    let done = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| match req.error() {
        Ok(Some(error)) => drop(reject.call1(&JsValue::NULL, &error)),
        _ => drop(resolve.call1(&JsValue::NULL, &req.result().unwrap_or(JsValue::UNDEFINED))),
    });
    request.set_onsuccess(Some(done.as_ref().unchecked_ref()));
    request.set_onerror(Some(done.as_ref().unchecked_ref()));
    let outcome = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    outcome.map_err(js_err)
}

/// Opens (creating or upgrading) the database with its one object store.
async fn open_database(name: &str) -> Result<IdbDatabase, StoreError> {
    let window = web_sys::window().ok_or_else(|| StoreError::Backend("no window".into()))?;
    let factory = window
        .indexed_db()
        .map_err(js_err)?
        .ok_or_else(|| StoreError::Backend("IndexedDB is not available here".into()))?;
    let request = factory.open_with_u32(name, SCHEMA_VERSION).map_err(js_err)?;
    let opening = request.clone();
    let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        if let Ok(db) = opening.result().and_then(|db| db.dyn_into::<IdbDatabase>()) {
            if !db.object_store_names().contains(OBJECT_STORE) {
                // A failure here aborts the upgrade, and the open reports it.
                let _ = db.create_object_store(OBJECT_STORE);
            }
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = settled(&request).await;
    request.set_onupgradeneeded(None);
    db?.dyn_into::<IdbDatabase>().map_err(|_| StoreError::Backend("open did not give a database".into()))
}

/// A transaction on the object store, and the store.
fn transaction(db: &IdbDatabase, mode: IdbTransactionMode) -> Result<(IdbTransaction, IdbObjectStore), StoreError> {
    let tx = db.transaction_with_str_and_mode(OBJECT_STORE, mode).map_err(js_err)?;
    let os = tx.object_store(OBJECT_STORE).map_err(js_err)?;
    Ok((tx, os))
}

/// Every key and value of the object store, in key order.
async fn everything(os: &IdbObjectStore) -> Result<(Array, Array), StoreError> {
    let (keys, values) = (os.get_all_keys().map_err(js_err)?, os.get_all().map_err(js_err)?);
    let (keys, values) = (settled(&keys).await?, settled(&values).await?);
    Ok((keys.unchecked_into(), values.unchecked_into()))
}

/// Waits for the transaction to commit, which it does once its requests are done and the task
/// that queued them returns; an aborted transaction (quota exceeded, for one) is an error.
async fn commit(tx: IdbTransaction) -> Result<(), StoreError> {
    let (promise, resolve, reject) = promise();
    let complete = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        drop(resolve.call0(&JsValue::NULL));
    });
    let aborted = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        drop(reject.call0(&JsValue::NULL));
    });
    tx.set_oncomplete(Some(complete.as_ref().unchecked_ref()));
    tx.set_onabort(Some(aborted.as_ref().unchecked_ref()));
    let outcome = JsFuture::from(promise).await;
    tx.set_oncomplete(None);
    tx.set_onabort(None);
    outcome.map(drop).map_err(|_| {
        let why = tx.error().map(|e| format!(": {}: {}", e.name(), e.message())).unwrap_or_default();
        StoreError::Backend(format!("transaction aborted (storage quota exceeded?){why}"))
    })
}

fn base20(offset: i64) -> String {
    format!("{offset:020}")
}

fn pos10(position: u64) -> String {
    format!("{position:010}")
}

fn chunk_key(key: &SegmentKey, position: &str) -> Vec<JsValue> {
    vec![
        JsValue::from(u32::from(key.broker)),
        JsValue::from(key.topic.as_str()),
        JsValue::from(key.partition),
        JsValue::from(base20(key.base_offset)),
        JsValue::from(position),
    ]
}

fn to_array(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

fn parse_chunk_key(value: &JsValue) -> Option<(SegmentKey, u64)> {
    let a: &Array = value.dyn_ref()?;
    let key = SegmentKey {
        broker: a.get(0).as_f64()? as u16,
        topic: a.get(1).as_string()?,
        partition: a.get(2).as_f64()? as u32,
        base_offset: a.get(3).as_string()?.parse().ok()?,
    };
    Some((key, a.get(4).as_string()?.parse().ok()?))
}

impl IdbSegmentStore {
    /// Opens (creating if needed) the database `name`, loads every segment, checks every batch's
    /// CRC and repairs torn tails. Returns the store and what was repaired.
    pub async fn open(name: &str) -> Result<(IdbSegmentStore, Vec<Recovery>), StoreError> {
        let db = open_database(name).await?;
        let mut store =
            IdbSegmentStore { db, memory: MemSegmentStore::new(), pending: vec![], open_chunks: VecMap::new() };
        let recoveries = store.load().await?;
        store.flush().await?;
        Ok((store, recoveries))
    }

    async fn load(&mut self) -> Result<Vec<Recovery>, StoreError> {
        let (_tx, os) = transaction(&self.db, IdbTransactionMode::Readonly)?;
        let (keys, values) = everything(&os).await?;
        let mut segments: VecMap<SegmentKey, Vec<u8>> = VecMap::new();
        for (k, v) in keys.iter().zip(values.iter()) {
            let Some((key, _position)) = parse_chunk_key(&k) else { continue };
            let bytes = v.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec).unwrap_or_default();
            segments.entry(key).or_default().extend_from_slice(&bytes);
        }
        let mut recoveries = vec![];
        for (key, bytes) in segments {
            let (batches, error) = RecordBatch::parse_stream(&bytes);
            let kept: u64 = batches.iter().map(|b| u64::from(b.size_bytes())).sum();
            self.memory.create(&key)?;
            self.memory.append(&key, 0, &bytes[..kept as usize])?;
            if let Some(e) = error {
                recoveries.push(Recovery {
                    key: key.clone(),
                    kept_bytes: kept,
                    dropped_bytes: bytes.len() as u64 - kept,
                    error: e.to_string(),
                });
                self.queue_rewrite(&key, &bytes[..kept as usize]);
            }
        }
        Ok(recoveries)
    }

    fn range(key: &SegmentKey, from: u64) -> Pending {
        Pending::DeleteRange { lower: chunk_key(key, &pos10(from)), upper: chunk_key(key, &pos10(9_999_999_999)) }
    }

    /// Replaces a segment's chunks with one chunk at position 0 (empty for an empty segment, so
    /// the segment itself survives a reload; its first append overwrites that key).
    fn queue_rewrite(&mut self, key: &SegmentKey, bytes: &[u8]) {
        self.open_chunks.remove(key);
        self.pending.push(Self::range(key, 0));
        self.pending.push(Pending::Put { key: chunk_key(key, &pos10(0)), bytes: bytes.to_vec() });
    }

    /// Writes every queued change in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when IndexedDB refuses (quota exceeded, database closed); the
    /// in-memory copy stays correct, so the caller can carry on in memory and say so.
    pub async fn flush(&mut self) -> Result<usize, StoreError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let ops = std::mem::take(&mut self.pending);
        self.open_chunks.clear();
        let count = ops.len();
        let (tx, os) = transaction(&self.db, IdbTransactionMode::Readwrite)?;
        for op in ops {
            let queued = match op {
                Pending::Put { key, bytes } => {
                    let value: JsValue = Uint8Array::from(bytes.as_slice()).into();
                    os.put_with_key(&value, &to_array(&key))
                }
                Pending::DeleteRange { lower, upper } => {
                    IdbKeyRange::bound(&to_array(&lower), &to_array(&upper)).and_then(|range| os.delete(&range))
                }
            };
            if let Err(e) = queued {
                // Not half a flush: the writes queued so far are undone.
                let _ = tx.abort();
                return Err(js_err(e));
            }
        }
        commit(tx).await?;
        Ok(count)
    }

    /// Writes queued so far and not yet flushed.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Deletes every stored segment (the app's "clear storage").
    pub async fn clear(&mut self) -> Result<(), StoreError> {
        self.pending.clear();
        self.memory = MemSegmentStore::new();
        let (tx, os) = transaction(&self.db, IdbTransactionMode::Readwrite)?;
        os.clear().map_err(js_err)?;
        commit(tx).await
    }

    /// Every stored segment key.
    pub fn keys(&self) -> Vec<SegmentKey> {
        self.memory.keys().cloned().collect()
    }

    /// Closes the connection.
    pub fn close(self) {
        self.db.close();
    }
}

impl SegmentStore for IdbSegmentStore {
    fn create(&mut self, key: &SegmentKey) -> Result<(), StoreError> {
        self.memory.create(key)?;
        self.open_chunks.insert(key.clone(), (self.pending.len(), 0));
        self.pending.push(Pending::Put { key: chunk_key(key, &pos10(0)), bytes: vec![] });
        Ok(())
    }

    fn append(&mut self, key: &SegmentKey, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.memory.append(key, position, bytes)?;
        if let Some((index, end)) = self.open_chunks.get_mut(key).filter(|(_, end)| *end == position) {
            let Pending::Put { bytes: chunk, .. } = &mut self.pending[*index] else {
                unreachable!("open_chunks points at puts")
            };
            chunk.extend_from_slice(bytes);
            *end += bytes.len() as u64;
            return Ok(());
        }
        self.open_chunks.insert(key.clone(), (self.pending.len(), position + bytes.len() as u64));
        self.pending.push(Pending::Put { key: chunk_key(key, &pos10(position)), bytes: bytes.to_vec() });
        Ok(())
    }

    fn read(&self, key: &SegmentKey, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        self.memory.read(key, range)
    }

    fn len(&self, key: &SegmentKey) -> Result<u64, StoreError> {
        self.memory.len(key)
    }

    fn truncate(&mut self, key: &SegmentKey, len: u64) -> Result<(), StoreError> {
        let kept = self.memory.read(key, 0..len)?;
        self.memory.truncate(key, len)?;
        self.queue_rewrite(key, &kept);
        Ok(())
    }

    fn replace(&mut self, key: &SegmentKey, bytes: &[u8]) -> Result<(), StoreError> {
        self.memory.replace(key, bytes)?;
        self.queue_rewrite(key, bytes);
        Ok(())
    }

    fn delete(&mut self, key: &SegmentKey) -> Result<(), StoreError> {
        self.memory.delete(key)?;
        self.open_chunks.remove(key);
        self.pending.push(Self::range(key, 0));
        Ok(())
    }

    fn segments(&self, broker: u16, topic: &str, partition: u32) -> Vec<SegmentKey> {
        self.memory.segments(broker, topic, partition)
    }
}

/// Test helper: overwrites the stored bytes of segment `key` from `position` on, in whichever
/// chunk holds them (appends are coalesced into one chunk per segment per flush), to simulate
/// corruption on disk.
#[doc(hidden)]
pub async fn corrupt_chunk(name: &str, key: &SegmentKey, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
    let db = open_database(name).await?;
    let (tx, os) = transaction(&db, IdbTransactionMode::Readwrite)?;
    let (keys, values) = everything(&os).await?;
    let holder = keys.iter().zip(values.iter()).find_map(|(k, v)| {
        let (chunk_of, start) = parse_chunk_key(&k)?;
        let stored = v.dyn_ref::<Uint8Array>()?.to_vec();
        (chunk_of == *key && start <= position && position < start + stored.len() as u64).then_some((start, stored))
    });
    let (start, mut stored) =
        holder.ok_or_else(|| StoreError::Backend(format!("no chunk holds position {position}")))?;
    let at = (position - start) as usize;
    stored.truncate(at);
    stored.extend_from_slice(bytes);
    let value: JsValue = Uint8Array::from(stored.as_slice()).into();
    os.put_with_key(&value, &to_array(&chunk_key(key, &pos10(start)))).map_err(js_err)?;
    commit(tx).await?;
    db.close();
    Ok(())
}
