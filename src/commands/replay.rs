//! `salesbot replay`: the log in global order, one JSON envelope per line, personal fields
//! decrypted (erased users' read as `null` with `"erased": true`), to stdout or a file.

use std::io::{BufWriter, Write};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{ReplayArgs, ReplayFormat};
use crate::config::Config;

const PAGE: usize = 2_000;

pub async fn run(config: &Config, args: &ReplayArgs) -> anyhow::Result<()> {
    if args.from_position < 1 {
        anyhow::bail!(
            "--from-position must be 1 or more, got {}",
            args.from_position
        );
    }
    let store = super::open_store(config).await?;
    let result = replay(&store, args).await;
    store.close().await;
    result
}

async fn replay(store: &event_store::EventStore, args: &ReplayArgs) -> anyhow::Result<()> {
    let head = store.head_position().await?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let progress = ProgressBar::with_draw_target(
        Some(u64::try_from(head - args.from_position + 1).unwrap_or(0)),
        ProgressDrawTarget::stderr(),
    );
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut after = args.from_position - 1;
    let mut written = 0u64;
    loop {
        let batch = store.read_all(after, PAGE).await?;
        let Some(last) = batch.last() else { break };
        after = last.global_position;
        for event in &batch {
            match args.format {
                ReplayFormat::Ndjson => {
                    let line = serde_json::to_string(event)?;
                    if let Err(e) = writeln!(out, "{line}") {
                        return finish_write(e);
                    }
                }
            }
        }
        written += batch.len() as u64;
        progress.set_position(written);
        // Events appended while replaying are included up to the head seen at the start.
        if after >= head {
            break;
        }
    }
    if let Err(e) = out.flush() {
        return finish_write(e);
    }
    progress.finish_and_clear();
    if let Some(path) = &args.out {
        eprintln!("replay: wrote {written} events to {}", path.display());
    }
    Ok(())
}

/// A closed pipe (`salesbot replay | head`) is the reader saying it has enough.
fn finish_write(e: std::io::Error) -> anyhow::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(anyhow::Error::new(e).context("writing the replay"))
    }
}
