//! `brokerscope partition`: where does a key go? (Kafka's `BuiltInPartitioner.partitionForKey`.)

use super::{bad_input, Failure};
use crate::batch_json::parse_hex;
use crate::sim::partitioner::{murmur2, partition_for_key, to_positive};

/// Arguments of `partition`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("key_source").required(true).args(["key", "key_hex", "no_key"])))]
pub struct PartitionArgs {
    /// Number of partitions of the topic.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub partitions: u32,
    /// The key as text (UTF-8 bytes, as StringSerializer writes them).
    #[arg(long)]
    pub key: Option<String>,
    /// The key as hex bytes.
    #[arg(long, value_name = "HEX")]
    pub key_hex: Option<String>,
    /// A null key.
    #[arg(long)]
    pub no_key: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints the partition and the murmur2 value.
pub fn run(args: &PartitionArgs) -> Result<String, Failure> {
    let key = match (&args.key, &args.key_hex) {
        (Some(k), _) => Some(k.as_bytes().to_vec()),
        (None, Some(h)) => Some(parse_hex(h).map_err(|e| bad_input(format!("--key-hex: {e}")))?),
        (None, None) => None,
    };
    let Some(key) = key else {
        let text = "no key: the uniform sticky partitioner (KIP-794) picks a partition at send time and keeps it for about batch.size bytes";
        return Ok(if args.json {
            serde_json::json!({"partitions": args.partitions, "key_hex": null, "partition": null, "partitioner": "uniform sticky (KIP-794)"}).to_string() + "\n"
        } else {
            format!("{text}\n")
        });
    };
    let hash = murmur2(&key);
    let partition = partition_for_key(&key, args.partitions);
    Ok(if args.json {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        serde_json::json!({
            "partitions": args.partitions, "key_hex": hex, "murmur2": hash,
            "to_positive": to_positive(hash), "partition": partition
        })
        .to_string()
            + "\n"
    } else {
        format!("partition {partition} of {} (murmur2 {hash}, toPositive {})\n", args.partitions, to_positive(hash))
    })
}
