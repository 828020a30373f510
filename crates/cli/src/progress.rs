//! Push progress on stderr: a bar on a terminal, a plain line every few seconds elsewhere (CI
//! logs keep every line, so a redrawn bar would fill them). `WHARF_PROGRESS` picks
//! `auto` (the default), `bar`, `lines` or `off`; `WHARF_PROGRESS_INTERVAL_SECS` spaces the
//! lines (default 10).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wharf_ci::EnvMap;
use wharf_client::Error;
use wharf_oci::{BlobAction, BlobStat, Progress, SharedProgress};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Off,
}

pub fn mode(env: &EnvMap) -> Result<Mode, Error> {
    match env
        .get("WHARF_PROGRESS")
        .map(|v| v.trim())
        .unwrap_or("auto")
    {
        "" | "auto" if std::io::stderr().is_terminal() => Ok(Mode::Bar),
        "" | "auto" | "lines" => Ok(Mode::Lines),
        "bar" => Ok(Mode::Bar),
        "off" => Ok(Mode::Off),
        other => Err(Error::Usage(format!(
            "WHARF_PROGRESS '{other}' is not one of auto, bar, lines, off"
        ))),
    }
}

/// Totals so far, updated from every blob copy at once.
#[derive(Default)]
struct Counters {
    planned_blobs: AtomicU64,
    planned_bytes: AtomicU64,
    done_blobs: AtomicU64,
    done_bytes: AtomicU64,
    /// Blobs the destination already had (skipped) or linked from another repository
    /// (mounted): done without a byte sent.
    present_blobs: AtomicU64,
    /// Bytes actually sent, what the rate is of.
    sent_bytes: AtomicU64,
}

struct Sink {
    counters: Counters,
    bar: Option<ProgressBar>,
}

impl Progress for Sink {
    fn planned(&self, blobs: usize, bytes: u64) {
        self.counters
            .planned_blobs
            .fetch_add(blobs as u64, Ordering::Relaxed);
        let total = self
            .counters
            .planned_bytes
            .fetch_add(bytes, Ordering::Relaxed)
            + bytes;
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    fn transferred(&self, bytes: u64) {
        self.counters.sent_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.done(bytes);
    }

    fn restarted(&self, bytes: u64) {
        self.counters.sent_bytes.fetch_sub(bytes, Ordering::Relaxed);
        let done = self.counters.done_bytes.fetch_sub(bytes, Ordering::Relaxed) - bytes;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    fn finished(&self, stat: &BlobStat) {
        self.counters.done_blobs.fetch_add(1, Ordering::Relaxed);
        // Skipped and mounted blobs are done without a byte sent.
        if !matches!(stat.action, BlobAction::Uploaded) {
            self.counters.present_blobs.fetch_add(1, Ordering::Relaxed);
            self.done(stat.size);
        }
    }
}

impl Sink {
    /// `bytes` more of the planned total are where they must be, sent or not.
    fn done(&self, bytes: u64) {
        self.counters.done_bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
}

/// Reports one push until [`Reporter::finish`].
pub struct Reporter {
    sink: Arc<Sink>,
    mode: Mode,
    started: Instant,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Reporter {
    pub fn start(mode: Mode, env: &EnvMap) -> Self {
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "wharf push [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {elapsed}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        let sink = Arc::new(Sink {
            counters: Counters::default(),
            bar,
        });
        let started = Instant::now();
        let ticker = (mode == Mode::Lines).then(|| {
            let every = env
                .get("WHARF_PROGRESS_INTERVAL_SECS")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(10)
                .max(1);
            let sink = sink.clone();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(Duration::from_secs(every));
                interval.tick().await;
                loop {
                    interval.tick().await;
                    crate::output::stderr_line(&line(&sink.counters, started.elapsed()));
                }
            })
        });
        Self {
            sink,
            mode,
            started,
            ticker,
        }
    }

    pub fn handle(&self) -> Option<SharedProgress> {
        (self.mode != Mode::Off).then(|| SharedProgress(self.sink.clone()))
    }

    /// Stops the ticker and prints where the push ended.
    pub fn finish(self) {
        if let Some(ticker) = &self.ticker {
            ticker.abort();
        }
        if let Some(bar) = &self.sink.bar {
            bar.finish_and_clear();
        }
        if self.mode == Mode::Lines {
            crate::output::stderr_line(&line(&self.sink.counters, self.started.elapsed()));
        }
    }
}

/// Where the push stands. Blobs the destination already had are counted as done but not
/// as sent: the rate is of the bytes sent, and a push that sent nothing says so.
fn line(counters: &Counters, elapsed: Duration) -> String {
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let done = load(&counters.done_bytes);
    let total = load(&counters.planned_bytes);
    let (done_blobs, planned_blobs) = (load(&counters.done_blobs), load(&counters.planned_blobs));
    let present = load(&counters.present_blobs);
    let sent = load(&counters.sent_bytes);
    let human = crate::output::human_bytes;
    if planned_blobs == 0 {
        // The destination had the image under its tag, or the push stopped before its blobs.
        return format!("wharf push: no blobs copied, {}s", elapsed.as_secs());
    }
    if present == planned_blobs {
        return format!(
            "wharf push: {present} of {planned_blobs} blobs already there ({}), nothing \
             uploaded, {}s",
            human(total),
            elapsed.as_secs()
        );
    }
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let rate = sent as f64 / elapsed.as_secs_f64().max(0.001);
    let already = match present {
        0 => String::new(),
        n => format!(" ({n} already there)"),
    };
    format!(
        "wharf push: {} of {} ({percent}%), {done_blobs} of {planned_blobs} blobs{already}, \
         {} sent at {}/s, {}s",
        human(done),
        human(total),
        human(sent),
        human(rate as u64),
        elapsed.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_skipped_blobs_as_done() {
        let sink = Sink {
            counters: Counters::default(),
            bar: None,
        };
        sink.planned(2, 3 * 1024 * 1024);
        sink.transferred(1024 * 1024);
        sink.finished(&BlobStat {
            digest: "sha256:00".into(),
            size: 2 * 1024 * 1024,
            action: BlobAction::Skipped,
            millis: 0,
        });
        assert_eq!(
            line(&sink.counters, Duration::from_secs(2)),
            "wharf push: 3.0 MiB of 3.0 MiB (100%), 1 of 2 blobs (1 already there), 1.0 MiB \
             sent at 512.0 KiB/s, 2s"
        );
    }

    #[test]
    fn a_push_that_sent_nothing_says_the_blobs_were_already_there() {
        let sink = Sink {
            counters: Counters::default(),
            bar: None,
        };
        sink.planned(2, 3 * 1024 * 1024 + 300 * 1024);
        for (action, size) in [
            (BlobAction::Skipped, 3 * 1024 * 1024),
            (BlobAction::Mounted, 300 * 1024),
        ] {
            sink.finished(&BlobStat {
                digest: "sha256:00".into(),
                size,
                action,
                millis: 0,
            });
        }
        let shown = line(&sink.counters, Duration::from_millis(900));
        assert_eq!(
            shown,
            "wharf push: 2 of 2 blobs already there (3.3 MiB), nothing uploaded, 0s"
        );
        assert!(!shown.contains("/s"), "no rate for nothing sent: {shown}");
    }

    #[test]
    fn a_push_with_no_blobs_to_copy_claims_no_rate() {
        let counters = Counters::default();
        assert_eq!(
            line(&counters, Duration::from_secs(1)),
            "wharf push: no blobs copied, 1s"
        );
    }

    #[test]
    fn the_rate_is_of_the_bytes_sent() {
        let sink = Sink {
            counters: Counters::default(),
            bar: None,
        };
        sink.planned(2, 4 * 1024 * 1024);
        sink.transferred(2 * 1024 * 1024);
        sink.finished(&BlobStat {
            digest: "sha256:01".into(),
            size: 2 * 1024 * 1024,
            action: BlobAction::Uploaded,
            millis: 0,
        });
        assert_eq!(
            line(&sink.counters, Duration::from_secs(1)),
            "wharf push: 2.0 MiB of 4.0 MiB (50%), 1 of 2 blobs, 2.0 MiB sent at 2.0 MiB/s, 1s"
        );
    }

    #[test]
    fn a_restarted_blob_takes_back_its_first_attempt() {
        let sink = Sink {
            counters: Counters::default(),
            bar: None,
        };
        sink.planned(1, 1024);
        sink.transferred(600);
        sink.restarted(600);
        sink.transferred(1024);
        assert_eq!(sink.counters.done_bytes.load(Ordering::Relaxed), 1024);
    }

    #[test]
    fn an_unknown_mode_names_the_variable() {
        let env = EnvMap::from([("WHARF_PROGRESS".to_string(), "loud".to_string())]);
        let error = mode(&env).unwrap_err().to_string();
        assert!(error.contains("WHARF_PROGRESS 'loud'"), "{error}");
    }
}
