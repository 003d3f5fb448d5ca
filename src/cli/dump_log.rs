//! `brokerscope dump-log FILE.log`: one line per batch, in the spirit of `kafka-dump-log.sh`.

use super::{bad_input, Failure};
use crate::sim::record::RecordBatch;
use std::fmt::Write;
use std::path::PathBuf;

/// Arguments of `dump-log`.
#[derive(clap::Args, Debug)]
pub struct DumpLogArgs {
    /// A segment file (`00000000000000000000.log`).
    pub file: PathBuf,
    /// Also print every record's key and value.
    #[arg(long)]
    pub print_data: bool,
}

fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Dumps the file; a corrupt or torn tail is reported after the valid batches (exit 2).
pub fn run(args: &DumpLogArgs) -> Result<String, Failure> {
    let bytes = std::fs::read(&args.file).map_err(|e| bad_input(format!("{}: {e}", args.file.display())))?;
    let mut out = format!("Dumping {}\n", args.file.display());
    if let Some(start) = args.file.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<i64>().ok()) {
        let _ = writeln!(out, "Log starting offset: {start}");
    }
    let (batches, error) = RecordBatch::parse_stream(&bytes);
    let mut position = 0usize;
    for b in &batches {
        let h = b.header();
        let horizon = if h.has_delete_horizon() {
            format!("OptionalLong[{}]", h.base_timestamp)
        } else {
            "OptionalLong.empty".into()
        };
        let _ = writeln!(
            out,
            "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} deleteHorizonMs: {horizon} position: {position} {}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: true",
            h.base_offset, h.last_offset(), h.records_count, h.base_sequence, h.last_sequence(), h.producer_id, h.producer_epoch,
            h.partition_leader_epoch, h.is_transactional(), h.is_control(), h.timestamp_type().name(), h.max_timestamp,
            h.size_in_bytes(), h.magic, h.compression().map_or("invalid", |c| c.name()), h.crc,
        );
        if args.print_data {
            for (offset, r) in b.records() {
                // The offset delta back from the (wrapping) offset; the sequence wraps as Kafka's.
                let seq = h.sequence_at(offset.wrapping_sub(h.base_offset) as i32);
                let keys: Vec<String> = r.headers.iter().map(|x| printable(&x.key)).collect();
                let _ = write!(
                    out,
                    "| offset: {offset} {}: {} keySize: {} valueSize: {} sequence: {seq} headerKeys: [{}]",
                    h.timestamp_type().name(),
                    r.timestamp_ms,
                    r.key.as_ref().map_or(-1, |k| k.len() as i64),
                    r.value.as_ref().map_or(-1, |v| v.len() as i64),
                    keys.join(","),
                );
                let _ = writeln!(
                    out,
                    " key: {} payload: {}",
                    r.key.as_deref().map_or("null".into(), printable),
                    r.value.as_deref().map_or("null".into(), printable)
                );
            }
        }
        position += b.size_bytes() as usize;
    }
    match error {
        None => Ok(out),
        Some(e) => Err(bad_input(format!(
            "{}: invalid batch at {e}; {} valid batch(es) before it",
            args.file.display(),
            batches.len()
        ))
        .after(out)),
    }
}
