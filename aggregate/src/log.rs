//! The decision log: every decision with the room as it was when it was
//! taken and a minute later, and what the room did while each card was on
//! screen, so the host sees which content, layouts and effects work.
//!
//! It holds only k-anonymous signals (suppressed cells stay `None`), never
//! a viewer.

use serde::Serialize;

use crate::{engine::Decision, signals::Signals};

/// How long after a decision its effect is measured: the minute window
/// then covers exactly the minute after it.
pub const EFFECT_DELAY_MS: u64 = 60_000;

/// One decision and its measured effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// The decision, with the signals that triggered it.
    pub decision: Decision,
    /// The minute window when it was taken: the minute before.
    pub before: Signals,
    /// The minute window [`EFFECT_DELAY_MS`] later (at the first tick
    /// from then on): the minute after. `None` until then.
    pub after: Option<Signals>,
}

/// A running mean of one signal over the ticks where it was shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RunningMean {
    /// Σ of the values.
    pub sum: f64,
    /// Ticks with a value (suppressed ticks are not counted).
    pub ticks: u64,
}

impl RunningMean {
    fn add(&mut self, value: Option<f64>) {
        if let Some(value) = value {
            self.sum += value;
            self.ticks += 1;
        }
    }

    /// The mean, if any tick had a value.
    pub fn mean(&self) -> Option<f64> {
        (self.ticks > 0).then(|| self.sum / self.ticks as f64)
    }
}

/// What the room did while one card was on screen (from when it was shown
/// until another card replaced it), from the 10 s window at each tick.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Attribution {
    /// The card.
    pub card_id: String,
    /// Times it was put on screen.
    pub shows: u64,
    /// Time it spent on screen.
    pub shown_ms: u64,
    /// Attention while it was shown.
    pub attention: RunningMean,
    /// Happy expression while it was shown.
    pub happy: RunningMean,
    /// Confused expressions while it was shown.
    pub confused: RunningMean,
}

/// The log of one webinar.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DecisionLog {
    entries: Vec<LogEntry>,
    attributions: Vec<Attribution>,
    /// The card on screen (index into `attributions`) and the last tick.
    #[serde(skip)]
    on_screen: Option<usize>,
    #[serde(skip)]
    last_tick_ms: Option<u64>,
}

impl DecisionLog {
    /// Every decision so far, oldest first.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// Per card, what the room did while it was shown.
    pub fn attributions(&self) -> &[Attribution] {
        &self.attributions
    }

    /// Times the card was put on screen.
    pub fn times_shown(&self, card_id: &str) -> u64 {
        self.attribution(card_id).map_or(0, |a| a.shows)
    }

    /// What the room did while the card was on screen.
    pub fn attribution(&self, card_id: &str) -> Option<&Attribution> {
        self.attributions.iter().find(|a| a.card_id == card_id)
    }

    /// A tick: completes the effects due by `now_ms` and credits the room's
    /// 10 s signals (and the time since the last tick) to the card on screen.
    pub(crate) fn observe(&mut self, now_ms: u64, minute: &Signals, ten_seconds: &Signals) {
        for entry in &mut self.entries {
            if entry.after.is_none() && now_ms >= entry.decision.at_ms.saturating_add(EFFECT_DELAY_MS) {
                entry.after = Some(*minute);
            }
        }
        let elapsed_ms = self.last_tick_ms.map_or(0, |last| now_ms.saturating_sub(last));
        self.last_tick_ms = Some(now_ms);
        if let Some(shown) = self.on_screen.and_then(|i| self.attributions.get_mut(i)) {
            shown.shown_ms += elapsed_ms;
            shown.attention.add(ten_seconds.attention);
            shown.happy.add(ten_seconds.happy);
            shown.confused.add(ten_seconds.confused);
        }
    }

    /// Logs a decision taken when the minute window read `before`; a
    /// decision that shows a card puts it on screen from the next tick.
    pub(crate) fn record(&mut self, decision: Decision, before: Signals) {
        if let Some(card_id) = &decision.card_id {
            let index = match self.attributions.iter().position(|a| &a.card_id == card_id) {
                Some(index) => index,
                None => {
                    self.attributions.push(Attribution {
                        card_id: card_id.clone(),
                        ..Attribution::default()
                    });
                    self.attributions.len() - 1
                }
            };
            self.attributions[index].shows += 1;
            self.on_screen = Some(index);
        }
        self.entries.push(LogEntry {
            decision,
            before,
            after: None,
        });
    }
}
