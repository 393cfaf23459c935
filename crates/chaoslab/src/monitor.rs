//! What watches a run from outside: a progress line on a terminal, the
//! wall-clock budget (`--max-wall`), and Ctrl-C / SIGTERM. The run asks
//! [`Watch::tick`] between slices of kernel work; the answer can only end the
//! run early, never change what it does, so the trace up to the stop is the
//! same as an uninterrupted run's.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenario::{Monitor, Progress};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by the Ctrl-C / SIGTERM handler; read between kernel slices.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Installs the handler for SIGINT and SIGTERM. A second signal while the
    /// run winds down exits at once, as a user pressing Ctrl-C twice expects.
    pub fn install() -> StopFlag {
        let flag = StopFlag::default();
        let inner = Arc::clone(&flag.0);
        // Failing to install (a handler already set) leaves the default
        // behaviour: the process dies without a report.
        let _ = ctrlc::set_handler(move || {
            if inner.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
        flag
    }

    /// Whether a stop was asked for.
    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Wall time starts at the first tick; progress shows after this long.
const SHOW_AFTER: Duration = Duration::from_millis(300);

/// The binary's [`Monitor`].
pub struct Watch {
    stop: StopFlag,
    max_wall: Option<Duration>,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Watch {
    /// A watch; `progress` asks for a progress line (only drawn on a terminal).
    #[allow(clippy::disallowed_methods)] // wall time only measures, never feeds the run
    pub fn new(stop: StopFlag, max_wall: Option<Duration>, progress: bool) -> Watch {
        let bar = progress.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
            bar
        });
        Watch { stop, max_wall, started: Instant::now(), bar }
    }
}

impl Monitor for Watch {
    fn tick(&mut self, p: &Progress<'_>) -> Option<String> {
        if self.stop.raised() {
            return Some("stopped by a signal (Ctrl-C or SIGTERM)".to_owned());
        }
        let wall = self.started.elapsed();
        if let Some(max) = self.max_wall
            && wall > max
        {
            return Some(format!("stopped at the wall time limit (--max-wall {})", humantime(max)));
        }
        if let Some(bar) = &self.bar
            && wall > SHOW_AFTER
        {
            let virt = p.now.saturating_since(sim::Instant::ZERO).as_secs_f64();
            let rate = p.events as f64 / wall.as_secs_f64().max(1e-3);
            let step: String = p.step_text.chars().take(60).collect();
            bar.set_message(format!(
                "{virt:.1}s virtual, {:.1} M events ({:.2} M/s), step {}/{}: {step}",
                p.events as f64 / 1e6,
                rate / 1e6,
                p.step,
                p.steps
            ));
            bar.tick();
        }
        None
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn humantime(d: Duration) -> String {
    scenario::yaml::format_duration(d)
}
