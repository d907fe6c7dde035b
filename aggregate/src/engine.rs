//! The decision engine: at each tick it reads the live, k-anonymous views of
//! the room, runs the policy's rules with hysteresis and cooldowns, and
//! returns the decisions to push to the stage, logging each one.
//!
//! The caller owns time: `now_ms` comes in with each tick, as with every
//! other time in this crate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    AggregateError, KAnonymity, Live, Snapshot,
    catalog::Catalog,
    log::DecisionLog,
    policy::{Action, Channel, Policy, WindowSpan},
    signals::Signals,
};

/// Who took a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The named policy rule.
    Rule(String),
    /// The host, overriding the policy.
    Host,
}

/// One decision for the stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// When it was taken.
    pub at_ms: u64,
    /// The rule or the host.
    pub origin: Origin,
    /// What to do.
    pub action: Action,
    /// The card to show, for a content action.
    pub card_id: Option<String>,
    /// The window the rule read when it fired; `None` for the host.
    pub trigger: Option<Signals>,
}

/// A host's command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostOverride {
    /// Take this action now and hold its channel for `for_s`: no rule
    /// changes that part of the screen meanwhile.
    Pin {
        /// The action.
        action: Action,
        /// How long the pin holds.
        for_s: u64,
    },
    /// Keep this rule from firing for `for_s`.
    Block {
        /// The rule's name.
        rule: String,
        /// How long the block holds.
        for_s: u64,
    },
}

/// Where one rule stands.
#[derive(Debug, Clone, Copy, Default)]
struct RuleState {
    /// Since when the condition has held (entered and not yet exited).
    holding_since_ms: Option<u64>,
    /// The rule fired in the current episode: it waits for the exit.
    fired: bool,
    last_fired_ms: Option<u64>,
    blocked_until_ms: u64,
}

/// The decision engine of one webinar.
#[derive(Debug, Clone)]
pub struct DecisionEngine {
    policy: Policy,
    catalog: Catalog,
    k: KAnonymity,
    states: Vec<RuleState>,
    pinned_until_ms: BTreeMap<Channel, u64>,
    last_minute: Signals,
    log: DecisionLog,
}

const MS_PER_S: u64 = 1_000;

impl DecisionEngine {
    /// An engine for `policy` over `catalog`; every content rule needs a
    /// card of its kind.
    pub fn new(policy: Policy, catalog: Catalog) -> Result<Self, AggregateError> {
        let k = KAnonymity::live_with(policy.k)?;
        for rule in &policy.rules {
            if let Action::Content(kind) = rule.action {
                if catalog.pick(kind, |_| 0).is_none() {
                    return Err(AggregateError::PolicyRule {
                        rule: rule.name.clone(),
                        reason: AggregateError::NoCard { kind }.to_string(),
                    });
                }
            }
        }
        Ok(Self {
            states: vec![RuleState::default(); policy.rules.len()],
            policy,
            catalog,
            k,
            pinned_until_ms: BTreeMap::new(),
            last_minute: Signals::default(),
            log: DecisionLog::default(),
        })
    }

    /// The log so far.
    pub fn log(&self) -> &DecisionLog {
        &self.log
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn card_for(&self, action: Action) -> Result<Option<String>, AggregateError> {
        match action {
            Action::Content(kind) => self
                .catalog
                .pick(kind, |id| self.log.times_shown(id))
                .map(|card| Some(card.id.clone()))
                .ok_or(AggregateError::NoCard { kind }),
            Action::Layout(_) | Action::Effect(_) => Ok(None),
        }
    }

    /// Applies a host command at `now_ms`. A pin is a decision of its own,
    /// returned and logged; a block returns `None`.
    pub fn override_(&mut self, now_ms: u64, command: HostOverride) -> Result<Option<Decision>, AggregateError> {
        match command {
            HostOverride::Pin { action, for_s } => {
                let decision = Decision {
                    at_ms: now_ms,
                    origin: Origin::Host,
                    action,
                    card_id: self.card_for(action)?,
                    trigger: None,
                };
                let until_ms = now_ms.saturating_add(for_s.saturating_mul(MS_PER_S));
                self.pinned_until_ms.insert(action.channel(), until_ms);
                self.log.record(decision.clone(), self.last_minute);
                Ok(Some(decision))
            }
            HostOverride::Block { rule, for_s } => {
                let index = self
                    .policy
                    .rules
                    .iter()
                    .position(|r| r.name == rule)
                    .ok_or(AggregateError::UnknownRule { rule })?;
                self.states[index].blocked_until_ms = now_ms.saturating_add(for_s.saturating_mul(MS_PER_S));
                Ok(None)
            }
        }
    }

    /// Reads the room at `now_ms` and returns the decisions to take now.
    ///
    /// A rule's condition starts when its signal crosses the entry level,
    /// lasts until it crosses back past the exit level, and is broken off
    /// whenever the cell is suppressed (fewer than k viewers): suppressed
    /// cells never trigger anything. A rule fires once per condition
    /// episode, after the condition has held `for_s`, no sooner than
    /// `cooldown_s` after its previous firing, and not while it is blocked
    /// or its channel is pinned or already decided this tick.
    pub fn tick(&mut self, now_ms: u64, live: &Live) -> Vec<Decision> {
        let ten_seconds = Signals::from_snapshot(&Snapshot::new(&live.ten_seconds(now_ms), self.k));
        let minute = Signals::from_snapshot(&Snapshot::new(&live.minute(now_ms), self.k));
        self.log.observe(now_ms, &minute, &ten_seconds);
        self.last_minute = minute;
        let mut taken: Vec<Channel> = self
            .pinned_until_ms
            .iter()
            .filter(|&(_, &until_ms)| until_ms > now_ms)
            .map(|(&channel, _)| channel)
            .collect();
        let mut decisions = Vec::new();
        for index in 0..self.policy.rules.len() {
            let rule = &self.policy.rules[index];
            let signals = match rule.window {
                WindowSpan::TenSeconds => ten_seconds,
                WindowSpan::Minute => minute,
            };
            let state = &mut self.states[index];
            let Some(value) = signals.get(rule.signal) else {
                state.holding_since_ms = None;
                continue;
            };
            if rule.threshold.exited(value) {
                *state = RuleState {
                    holding_since_ms: None,
                    fired: false,
                    ..*state
                };
                continue;
            }
            if rule.threshold.entered(value) && !state.fired && state.holding_since_ms.is_none() {
                state.holding_since_ms = Some(now_ms);
            }
            let Some(since_ms) = state.holding_since_ms else {
                continue;
            };
            let held = now_ms.saturating_sub(since_ms) >= rule.for_s.saturating_mul(MS_PER_S);
            let cooled = state
                .last_fired_ms
                .is_none_or(|last| now_ms.saturating_sub(last) >= rule.cooldown_s.saturating_mul(MS_PER_S));
            let free = now_ms >= state.blocked_until_ms && !taken.contains(&rule.action.channel());
            if !(held && cooled && free) {
                continue;
            }
            let (action, origin) = (rule.action, Origin::Rule(rule.name.clone()));
            // `new` checked that every content rule has a card.
            let Ok(card_id) = self.card_for(action) else {
                continue;
            };
            self.states[index] = RuleState {
                holding_since_ms: None,
                fired: true,
                last_fired_ms: Some(now_ms),
                ..self.states[index]
            };
            taken.push(action.channel());
            let decision = Decision {
                at_ms: now_ms,
                origin,
                action,
                card_id,
                trigger: Some(signals),
            };
            self.log.record(decision.clone(), minute);
            decisions.push(decision);
        }
        decisions
    }
}
