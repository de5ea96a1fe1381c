//! `salesbot export-log FILE` and `salesbot import-log FILE`: backup and restore of the whole log
//! (docs/architecture.md, "Backup and restore").
//!
//! The file is NDJSON, gzip-compressed when its name ends in `.gz`:
//! 1. a header: format and version, the counts, and the master key's check value (never the
//!    key);
//! 2. `keys` lines, one `user_keys` row each, the key still wrapped by the master key (`null`
//!    once the user was erased);
//! 3. `events` lines, one event each in stored form (personal fields still sealed), in global
//!    order.
//!
//! Both directions stream in pages: memory stays the same whatever the size of the log.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal as _, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use event_store::StoredEvent;
use event_store::backup::BackupKey;
use serde::{Deserialize, Serialize};

use crate::cli::BackupArgs;
use crate::config::Config;

/// What the header's `format` says.
const FORMAT: &str = "salesbot-log";
/// The file format's version; a reader refuses a version it does not know.
const VERSION: u32 = 1;
/// Rows per page read from the store, and per insert on import.
const PAGE: usize = 2_000;

/// The first line of a backup.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    /// `keys` lines follow the header, then `events` lines.
    keys: u64,
    events: u64,
    /// The last global position in the file.
    head: i64,
    /// [`event_store::MasterKey::backup_check`] of the key the file was written under.
    master_key_check: String,
    exported_at: DateTime<Utc>,
    /// The salesbot release that wrote it.
    written_by: String,
}

pub async fn export(config: &Config, args: &BackupArgs) -> anyhow::Result<()> {
    let path = &args.file;
    if path.exists() {
        bail!(
            "{} exists already; export-log does not overwrite a file: remove it or name another",
            path.display()
        );
    }
    let store = super::open_store(config).await?;
    let partial = partial_path(path);
    let result = write_backup(&store, path, &partial).await;
    store.close().await;
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let (header, seconds) = result?;
    eprintln!(
        "export-log: wrote {} events (through position {}) and {} keys to {} in {seconds:.1} s",
        header.events,
        header.head,
        header.keys,
        path.display()
    );
    Ok(())
}

/// Writes to `partial`, renamed to `path` once complete, so that `path` is never a truncated
/// backup.
async fn write_backup(
    store: &event_store::EventStore,
    path: &Path,
    partial: &Path,
) -> anyhow::Result<(Header, f64)> {
    let started = Instant::now();
    let mut snapshot = store.backup_snapshot().await?;
    let counts = snapshot.counts().await?;
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        keys: counts.keys,
        events: counts.events,
        head: counts.head,
        master_key_check: store.backup_check(),
        exported_at: Utc::now(),
        written_by: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let file =
        create_private(partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut out: Box<dyn Write> = if is_gzip_name(path) {
        Box::new(BufWriter::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        )))
    } else {
        Box::new(BufWriter::new(file))
    };
    let io =
        |e: std::io::Error| anyhow::Error::new(e).context(format!("writing {}", partial.display()));
    serde_json::to_writer(&mut out, &header)?;
    out.write_all(b"\n").map_err(io)?;

    let mut progress = Progress::new("export-log", counts.keys + counts.events);
    let mut written = 0u64;
    let mut after_key = None;
    loop {
        let keys = snapshot.keys(after_key, PAGE).await?;
        let Some(last) = keys.last() else { break };
        after_key = Some(last.key_id);
        for key in &keys {
            serde_json::to_writer(&mut out, key)?;
            out.write_all(b"\n").map_err(io)?;
        }
        written += keys.len() as u64;
        progress.set(written);
    }
    let mut after = 0;
    loop {
        let events = snapshot.events(after, PAGE).await?;
        let Some(last) = events.last() else { break };
        after = last.global_position;
        for event in &events {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(b"\n").map_err(io)?;
        }
        written += events.len() as u64;
        progress.set(written);
    }
    snapshot.close().await?;
    progress.finish();
    if written != counts.keys + counts.events {
        bail!(
            "read {written} rows where the snapshot counted {}; nothing was kept",
            counts.keys + counts.events
        );
    }
    out.flush().map_err(io)?;
    drop(out);
    // The gzip trailer is written when the encoder is dropped; make the bytes durable before
    // the name says the backup is complete.
    File::open(partial).and_then(|f| f.sync_all()).map_err(io)?;
    std::fs::rename(partial, path)
        .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
    Ok((header, started.elapsed().as_secs_f64()))
}

pub async fn import(config: &Config, args: &BackupArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let mut lines = Lines::open(path)?;
    let header: Header = match lines.next()? {
        None => bail!(
            "{} is empty: not a backup written by export-log",
            path.display()
        ),
        Some(line) => serde_json::from_str(line)
            .ok()
            .filter(|h: &Header| h.format == FORMAT)
            .with_context(|| {
                format!(
                    "{}: the first line is not an export-log header",
                    path.display()
                )
            })?,
    };
    if header.version != VERSION {
        bail!(
            "{} is export-log format version {}; this release reads version {VERSION}",
            path.display(),
            header.version
        );
    }
    // The master key is checked before the store is even opened: nothing is written with the
    // wrong one.
    let store_config = config.store_config()?;
    if store_config.master_key.backup_check() != header.master_key_check {
        bail!(
            "{} was written under a different master key: set SALESBOT_MASTER_KEY to the key of \
             the store it was exported from (embedded mode: copy that store's data/master.key \
             into this data folder); nothing was written",
            path.display()
        );
    }
    let store = super::open_store(config).await?;
    let result = restore(&store, &mut lines, &header).await;
    let imported = match result {
        Ok(imported) => imported,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let seconds = imported.1;
    let imported = imported.0;
    eprintln!(
        "import-log: restored {} events (through position {}) and {} keys in {seconds:.1} s{}",
        imported.events,
        imported.head,
        imported.keys,
        if imported.erasures_reapplied.is_empty() {
            String::new()
        } else {
            format!(
                "; erasure applied again to {} user(s) whose key the file still held",
                imported.erasures_reapplied.len()
            )
        }
    );
    let rebuilding = Instant::now();
    let mut progress = Progress::new("rebuilding read models", 0);
    let rebuilt = projector::rebuild::rebuild(
        &store,
        config.report_timezone,
        u32::from(config.partitions),
        &[],
        projector::rebuild::FLUSH_EVENTS as usize,
        |position, head| {
            progress.set_total(u64::try_from(head).unwrap_or(0));
            progress.set(u64::try_from(position).unwrap_or(0));
        },
    )
    .await;
    progress.finish();
    store.close().await;
    let rebuilt = rebuilt.context(
        "rebuilding the read models (the log is restored; run `salesbot rebuild` to try again)",
    )?;
    eprintln!(
        "import-log: read models rebuilt from {} events in {:.1} s",
        rebuilt.events,
        rebuilding.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Streams the keys and events of the file into one import transaction.
async fn restore(
    store: &event_store::EventStore,
    lines: &mut Lines,
    header: &Header,
) -> anyhow::Result<(event_store::backup::Imported, f64)> {
    let started = Instant::now();
    let mut import = store.begin_import().await?;
    let total = header.keys + header.events;
    let mut progress = Progress::new("import-log", total);
    let mut read = 0u64;
    let mut keys = Vec::with_capacity(PAGE);
    for _ in 0..header.keys {
        keys.push(lines.row::<BackupKey>("key", header)?);
        if keys.len() == PAGE {
            read += keys.len() as u64;
            import.keys(std::mem::take(&mut keys)).await?;
            progress.set(read);
        }
    }
    read += keys.len() as u64;
    import.keys(keys).await?;
    let mut events = Vec::with_capacity(PAGE);
    for _ in 0..header.events {
        events.push(lines.row::<StoredEvent>("event", header)?);
        if events.len() == PAGE {
            read += events.len() as u64;
            import.events(std::mem::take(&mut events)).await?;
            progress.set(read);
        }
    }
    if !events.is_empty() {
        read += events.len() as u64;
        import.events(events).await?;
    }
    progress.set(read);
    if lines.next()?.is_some() {
        bail!(
            "line {}: more lines than the header's {} keys and {} events; nothing was written",
            lines.number,
            header.keys,
            header.events
        );
    }
    let imported = import.commit().await?;
    progress.finish();
    if imported.head != header.head {
        // Committed already, but a header that disagrees with its own rows is worth saying.
        tracing::warn!(
            header = header.head,
            imported = imported.head,
            "the backup's header named another last position"
        );
    }
    Ok((imported, started.elapsed().as_secs_f64()))
}

/// The lines of a backup, plain or gzip (told by its first bytes, whatever its name), one at a
/// time into one reused buffer.
struct Lines {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    buffer: String,
    number: u64,
}

impl Lines {
    fn open(path: &Path) -> anyhow::Result<Lines> {
        let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic)?;
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(file),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        Ok(Lines {
            path: path.to_owned(),
            reader,
            buffer: String::new(),
            number: 0,
        })
    }

    /// The next line as a `what` row; the file ending first is a truncated backup.
    fn row<T: serde::de::DeserializeOwned>(
        &mut self,
        what: &str,
        header: &Header,
    ) -> anyhow::Result<T> {
        let Some(line) = self.next()? else {
            bail!(
                "{} ends at line {}, before the header's {} keys and {} events: the file is \
                 truncated; nothing was written",
                self.path.display(),
                self.number,
                header.keys,
                header.events
            );
        };
        match serde_json::from_str(line) {
            Ok(row) => Ok(row),
            Err(e) => bail!(
                "{} line {}: not a {what} ({e}); nothing was written",
                self.path.display(),
                self.number
            ),
        }
    }

    fn next(&mut self) -> anyhow::Result<Option<&str>> {
        self.buffer.clear();
        let n = self.reader.read_line(&mut self.buffer).with_context(|| {
            format!("reading {} after line {}", self.path.display(), self.number)
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        Ok(Some(self.buffer.trim_end_matches(['\n', '\r'])))
    }
}

/// A new file only its owner may read: the backup holds wrapped keys and sealed personal data,
/// guarded like the data folder itself.
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn is_gzip_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    path.with_file_name(name)
}

/// Progress of long work: a bar on a terminal, otherwise a log line every few seconds.
struct Progress {
    what: &'static str,
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: u64,
    last_line: Instant,
}

const LOG_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(what: &'static str, total: u64) -> Progress {
        let bar = std::io::stderr()
            .is_terminal()
            .then(|| crate::bench::progress(total, what));
        Progress {
            what,
            bar,
            total,
            done: 0,
            last_line: Instant::now(),
        }
    }

    fn set_total(&mut self, total: u64) {
        self.total = total;
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    fn set(&mut self, done: u64) {
        self.done = done;
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None if self.last_line.elapsed() >= LOG_EVERY => {
                self.last_line = Instant::now();
                tracing::info!(done, total = self.total, "{}", self.what);
            }
            None => {}
        }
    }

    fn finish(self) {
        match self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => tracing::info!(done = self.done, total = self.total, "{} done", self.what),
        }
    }
}
