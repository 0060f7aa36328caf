//! Refused requests in the operational log: one line per class (the
//! problem's type) and window, never one per request. The first refusal
//! of a class in a window is told at once, with its detail; how many more
//! followed is told when the window ends. Every refusal is also counted in
//! `tollgate_requests_refused_total`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a window lasts.
pub const WINDOW: Duration = Duration::from_secs(10);

/// The most classes a window tells apart. Problem types are the server's
/// own words, a few dozen at most; the bound only keeps a bug from growing
/// the map.
const MAX_CLASSES: usize = 256;

/// Refusals seen in the current window: per class, its status and count.
#[derive(Debug, Default)]
pub struct Refusals {
    window: Mutex<BTreeMap<String, (u16, u64)>>,
}

impl Refusals {
    /// Notes one refused request.
    pub fn note(&self, class: &str, status: u16, detail: &str) {
        let Ok(mut window) = self.window.lock() else {
            return;
        };
        if let Some((_, count)) = window.get_mut(class) {
            *count += 1;
            return;
        }
        if window.len() >= MAX_CLASSES {
            return;
        }
        window.insert(class.to_owned(), (status, 1));
        drop(window);
        // The detail quotes what the client sent (a role, a policy name).
        let detail = super::logsafe::escaped(detail);
        tell(class, status, format_args!("{detail}"));
    }

    /// Ends the window: tells how many more of each class followed its
    /// first.
    pub fn close_window(&self) {
        let window = match self.window.lock() {
            Ok(mut window) => std::mem::take(&mut *window),
            Err(_) => return,
        };
        for (class, (status, count)) in window {
            if count > 1 {
                tell(
                    &class,
                    status,
                    format_args!(
                        "{} more refused in the last {} s",
                        count - 1,
                        WINDOW.as_secs()
                    ),
                );
            }
        }
    }
}

/// One log line about a class of refusals: a warning when the server
/// refused for its own reasons (overload, time, shutdown), information
/// when the client sent something wrong.
fn tell(class: &str, status: u16, what: std::fmt::Arguments<'_>) {
    if status >= 500 {
        tracing::warn!(class, status, "refused: {what}");
    } else {
        tracing::info!(class, status, "refused: {what}");
    }
}

/// Ends a window every [`WINDOW`], for as long as the server runs.
pub async fn report(state: Arc<super::State>) {
    let mut tick = tokio::time::interval(WINDOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        state.refusals.close_window();
    }
}
