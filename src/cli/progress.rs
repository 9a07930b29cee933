//! The progress line of `eval` on stderr: events and events/s, bytes read,
//! alerts so far, and for files an ETA from the bytes left.
//!
//! The run updates relaxed atomic counters ([`crate::eval::Progress`]); a
//! drawing thread reads them a few times a second and draws with
//! `indicatif`, so the evaluating loop never waits for the terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::eval::{Input, Progress, ProgressHandle};

/// A running progress display.
pub struct Display {
    progress: ProgressHandle,
    alerts: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    drawer: Option<JoinHandle<()>>,
}

/// The inputs' total size on disk, when every input is a file.
fn total_bytes(inputs: &[Input]) -> Option<u64> {
    inputs.iter().try_fold(0u64, |total, input| match input {
        Input::Path(path) => std::fs::metadata(path)
            .ok()
            .map(|metadata| total + metadata.len()),
        Input::Stdin => None,
    })
}

fn message(progress: &Progress, alerts: u64, started: Instant) -> String {
    let events = progress.events.load(Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64().max(1e-3);
    format!(
        "{} events ({}/s), {} alert{}",
        HumanCount(events),
        HumanCount((events as f64 / seconds) as u64),
        HumanCount(alerts),
        crate::words::plural(alerts as usize)
    )
}

impl Display {
    /// Starts drawing on stderr.
    pub fn start(inputs: &[Input]) -> Display {
        let progress = ProgressHandle::default();
        let alerts = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let total = total_bytes(inputs);
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{bar:24} {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta}) {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {elapsed} {bytes} read, {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let drawer = {
            let progress = progress.clone();
            let alerts = alerts.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    bar.set_position(progress.0.bytes.load(Ordering::Relaxed));
                    bar.set_message(message(
                        &progress.0,
                        alerts.load(Ordering::Relaxed),
                        started,
                    ));
                    std::thread::sleep(Duration::from_millis(200));
                }
                bar.finish_and_clear();
            })
        };
        Display {
            progress,
            alerts,
            stop,
            drawer: Some(drawer),
        }
    }

    /// The counters the run updates.
    pub fn handle(&self) -> ProgressHandle {
        self.progress.clone()
    }

    /// Counts one alert written.
    pub fn alert(&self) {
        self.alerts.fetch_add(1, Ordering::Relaxed);
    }

    /// Stops drawing and clears the line.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(drawer) = self.drawer.take() {
            let _ = drawer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_counts_events_and_alerts() {
        let progress = Progress::default();
        progress.events.store(1_234_567, Ordering::Relaxed);
        let text = message(&progress, 1, Instant::now() - Duration::from_secs(2));
        assert!(text.starts_with("1,234,567 events ("), "{text}");
        assert!(text.ends_with("/s), 1 alert"), "{text}");
        assert!(message(&progress, 3, Instant::now()).ends_with("3 alerts"));
    }

    #[test]
    fn an_eta_needs_every_input_to_be_a_file() {
        let directory =
            std::env::temp_dir().join(format!("tripline-progress-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap_or_default();
        let file = directory.join("a.jsonl");
        std::fs::write(&file, "0123456789").unwrap_or_default();
        let inputs = [Input::Path(file.clone()), Input::Path(file)];
        assert_eq!(total_bytes(&inputs), Some(20));
        assert_eq!(total_bytes(&[Input::Stdin]), None);
        let _ = std::fs::remove_dir_all(&directory);
    }
}
