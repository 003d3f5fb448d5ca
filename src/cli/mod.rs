//! The native command line. Exit codes: 0 ok, 2 bad input (one line on stderr).

mod batch;
mod bench;
mod dump_log;
mod export;
mod group;
mod heap;
mod partition;
mod run;
mod seeds;

use clap::{Parser, Subcommand};

pub use batch::BatchCommand;
pub use bench::BenchArgs;
pub use dump_log::DumpLogArgs;
pub use export::ExportArgs;
pub use group::{AssignArgs, CoordinatorArgs};
pub use partition::PartitionArgs;
pub use run::RunArgs;
pub use seeds::SeedsArgs;

/// Kafka internals as a deterministic simulation.
#[derive(Parser, Debug)]
#[command(name = "brokerscope", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario headless and print a summary.
    Run(RunArgs),
    /// Run a scenario over many seeds and report acknowledged records lost (exit 1 if any).
    Seeds(SeedsArgs),
    /// Encode or decode a record batch v2.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Print the batches of a Kafka segment file (like kafka-dump-log).
    DumpLog(DumpLogArgs),
    /// Run a scenario and write its partition logs as Kafka segment files.
    Export(ExportArgs),
    /// Where does a key go? murmur2 partitioning as Kafka's producer does it.
    Partition(PartitionArgs),
    /// Run a consumer partition assignor (range, roundrobin, sticky, cooperative-sticky).
    Assign(AssignArgs),
    /// Which __consumer_offsets partition (and so which broker) coordinates a group.
    Coordinator(CoordinatorArgs),
    /// Time the standard workloads: records/s, MB/s, ns/record, peak heap, swarm seeds/s.
    Bench(BenchArgs),
}

/// A failed command: the message for stderr, the exit code, and what it had to report on
/// stdout before failing (a seeds report, the batches of a log read so far).
#[derive(Debug)]
pub struct Failure {
    /// One line.
    pub message: String,
    /// Process exit code.
    pub code: i32,
    /// Printed on stdout before the message goes to stderr; empty for most failures.
    pub report: String,
}

impl Failure {
    /// This failure, carrying `report` for `main` to print on stdout before the message goes
    /// to stderr (whether or not the report reaches a reader).
    pub(crate) fn after(self, report: String) -> Failure {
        Failure { report, ..self }
    }
}

pub(crate) fn bad_input(message: String) -> Failure {
    Failure { message, code: 2, report: String::new() }
}

/// Parses arguments, runs, and returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Seeds(args) => seeds::run(&args),
        Command::Batch(cmd) => batch::run(&cmd),
        Command::DumpLog(args) => dump_log::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Partition(args) => partition::run(&args),
        Command::Assign(args) => group::run_assign(&args),
        Command::Coordinator(args) => group::run_coordinator(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(output) => match write_stdout(&output) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("brokerscope: writing the output: {e}");
                1
            }
        },
        Err(f) => {
            if !f.report.is_empty() {
                let _ = write_stdout(&f.report);
            }
            eprintln!("brokerscope: {}", f.message);
            f.code
        }
    }
}

/// Writes `text` to standard output. A reader that closed the pipe early (`| head`) wanted no
/// more: that is not an error, where `print!` would panic.
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
