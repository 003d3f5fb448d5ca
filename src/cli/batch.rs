//! `brokerscope batch encode|decode`: record batch v2 from and to JSON.

use super::{bad_input, Failure};
use crate::batch_json::{decode_json, encode_input, parse_hex, to_hex};
use crate::sim::record::RecordBatch;
use std::path::PathBuf;

/// `batch` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum BatchCommand {
    /// Build a batch from JSON (the field names of `record_batch_v2.cases[].input` in Kafka's
    /// public vectors) and print it as hex.
    Encode {
        /// JSON input file.
        #[arg(long, value_name = "FILE.json")]
        input: PathBuf,
    },
    /// Decode one batch (hex on the command line, or raw bytes from a file) and print its header
    /// and records as JSON.
    Decode {
        /// The batch as hex.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        hex: Option<String>,
        /// Read the batch's raw bytes from this file.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// Runs a `batch` subcommand.
pub fn run(cmd: &BatchCommand) -> Result<String, Failure> {
    match cmd {
        BatchCommand::Encode { input } => {
            let text = std::fs::read_to_string(input).map_err(|e| bad_input(format!("{}: {e}", input.display())))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| bad_input(format!("{}: invalid JSON: {e}", input.display())))?;
            let bytes = encode_input(&value).map_err(|e| bad_input(format!("{}: {e}", input.display())))?;
            Ok(to_hex(&bytes) + "\n")
        }
        BatchCommand::Decode { hex, file } => {
            let bytes = match (hex, file) {
                (Some(h), _) => parse_hex(h).map_err(|e| bad_input(format!("hex: {e}")))?,
                (None, Some(f)) => std::fs::read(f).map_err(|e| bad_input(format!("{}: {e}", f.display())))?,
                (None, None) => unreachable!("clap requires one of them"),
            };
            let batch = RecordBatch::from_bytes(bytes).map_err(|e| bad_input(format!("invalid batch: {e}")))?;
            Ok(serde_json::to_string_pretty(&decode_json(&batch)).expect("JSON") + "\n")
        }
    }
}
