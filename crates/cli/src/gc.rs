//! `wharf gc`: asks the control plane to collect its registry's garbage and prints what went
//! (or, with --dry-run, would go).

use crate::CliResult;
use crate::args::{GcArgs, Output};
use wharf_client::Client;

pub async fn gc(client: &Client, args: GcArgs, output: Output) -> CliResult {
    let report = client
        .gc(args.dry_run, args.grace.map(|grace| grace.as_secs()))
        .await?;
    if output == Output::Json {
        println!("{report}");
        return Ok(());
    }
    let number = |key: &str| report[key].as_u64().unwrap_or(0);
    let verb = if args.dry_run { "would free" } else { "freed" };
    println!(
        "{verb} {} objects, {} bytes",
        number("objects"),
        number("bytes")
    );
    println!(
        "  blobs no manifest references  {} objects, {} bytes ({} repository links)",
        number("blobObjects"),
        number("blobBytes"),
        number("repositoryBlobs")
    );
    println!(
        "  expired upload sessions       {}, {} bytes",
        number("uploadSessions"),
        number("uploadBytes")
    );
    println!(
        "  objects no row names          {}, {} bytes",
        number("orphanObjects"),
        number("orphanBytes")
    );
    println!(
        "  grace period                  {} s",
        number("graceSeconds")
    );
    Ok(())
}
