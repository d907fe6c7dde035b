//! The declarative policy: which room conditions lead to which decision
//! about content, layout or effects. Written by people in TOML (see
//! `policies/default.toml`), so it is parsed strictly and every error names
//! the rule at fault.

use serde::{Deserialize, Serialize};

use crate::{AggregateError, KAnonymity, catalog::CardKind, signals::Signal};

/// The default policy, shipped with the crate and documented rule by rule.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../policies/default.toml");

/// Which live window a rule reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSpan {
    /// The last 10 s: reacts quickly.
    #[default]
    TenSeconds,
    /// The last minute: reacts to a mood, not a moment.
    Minute,
}

/// How the stage is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The speaker large, slides small.
    SpeakerFocus,
    /// The slides large, the speaker small.
    SlidesFocus,
    /// Everything the same size.
    Grid,
}

/// A momentary effect on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Ask the audience a question.
    Poll,
    /// An applause animation.
    Applause,
    /// Highlight the current slide or point.
    Highlight,
}

/// What a rule (or the host) decides. In TOML: `{ content = "faq" }`,
/// `{ layout = "speaker_focus" }` or `{ effect = "poll" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Show a card of this kind (the engine picks which).
    Content(CardKind),
    /// Switch to this layout.
    Layout(Layout),
    /// Play this effect.
    Effect(Effect),
}

/// The part of the screen an action changes: one decision per channel per
/// tick, and a host pin holds a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Cards.
    Content,
    /// Layout.
    Layout,
    /// Effects.
    Effect,
}

impl Action {
    /// The channel this action changes.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Content(_) => Channel::Content,
            Self::Layout(_) => Channel::Layout,
            Self::Effect(_) => Channel::Effect,
        }
    }
}

/// When a rule's condition holds, with hysteresis: it starts to hold when
/// the signal crosses `enter` and stops only when it crosses back past
/// `exit`, so a signal wavering around `enter` is one episode, not many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    /// Holds from `value < enter` until `value > exit` (exit > enter).
    Below {
        /// Entry level.
        enter: f64,
        /// Exit level.
        exit: f64,
    },
    /// Holds from `value > enter` until `value < exit` (exit < enter).
    Above {
        /// Entry level.
        enter: f64,
        /// Exit level.
        exit: f64,
    },
}

impl Threshold {
    /// The signal has crossed the entry level.
    pub fn entered(&self, value: f64) -> bool {
        match *self {
            Self::Below { enter, .. } => value < enter,
            Self::Above { enter, .. } => value > enter,
        }
    }

    /// The signal has crossed back past the exit level.
    pub fn exited(&self, value: f64) -> bool {
        match *self {
            Self::Below { exit, .. } => value > exit,
            Self::Above { exit, .. } => value < exit,
        }
    }
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Unique name, used in the log and by host overrides.
    pub name: String,
    /// The signal watched.
    pub signal: Signal,
    /// The window it is read from.
    pub window: WindowSpan,
    /// Entry and exit levels.
    pub threshold: Threshold,
    /// How long the condition must hold before the rule fires.
    pub for_s: u64,
    /// The least time between two firings of this rule.
    pub cooldown_s: u64,
    /// What it decides.
    pub action: Action,
}

/// A validated policy: rules in priority order (the first rule to fire
/// takes a channel for that tick).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// The live k-anonymity threshold the engine's snapshots use.
    pub k: u64,
    /// The rules.
    pub rules: Vec<Rule>,
}

/// The file's shape, before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default = "live_k")]
    k: u64,
    #[serde(rename = "rule", default)]
    rules: Vec<RawRule>,
}

fn live_k() -> u64 {
    KAnonymity::LIVE_FLOOR
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    signal: Signal,
    #[serde(default)]
    window: WindowSpan,
    below: Option<f64>,
    above: Option<f64>,
    exit: f64,
    #[serde(default)]
    for_s: u64,
    cooldown_s: u64,
    action: Action,
}

impl RawRule {
    fn validate(self) -> Result<Rule, AggregateError> {
        let fail = |reason: &str| AggregateError::PolicyRule {
            rule: self.name.clone(),
            reason: reason.to_owned(),
        };
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        let threshold = match (self.below, self.above) {
            (Some(enter), None) => Threshold::Below { enter, exit: self.exit },
            (None, Some(enter)) => Threshold::Above { enter, exit: self.exit },
            _ => return Err(fail("give exactly one of `below` and `above`")),
        };
        let (enter, exit) = match threshold {
            Threshold::Below { enter, exit } | Threshold::Above { enter, exit } => (enter, exit),
        };
        if !unit(enter) || !unit(exit) {
            return Err(fail("thresholds are shares or means: they must be from 0 to 1"));
        }
        // Without a gap between entry and exit, a signal wavering around
        // the threshold would start a new episode on every wobble.
        let gap = match threshold {
            Threshold::Below { .. } => exit > enter,
            Threshold::Above { .. } => exit < enter,
        };
        if !gap {
            return Err(fail(
                "`exit` must lie beyond the entry threshold (above `below`, under `above`)",
            ));
        }
        if self.cooldown_s == 0 {
            return Err(fail("`cooldown_s` must be at least 1"));
        }
        Ok(Rule {
            threshold,
            name: self.name,
            signal: self.signal,
            window: self.window,
            for_s: self.for_s,
            cooldown_s: self.cooldown_s,
            action: self.action,
        })
    }
}

impl Policy {
    /// Parses and validates a policy file.
    pub fn from_toml(text: &str) -> Result<Self, AggregateError> {
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| AggregateError::PolicySyntax { reason: e.to_string() })?;
        let k = KAnonymity::live_with(raw.k)?.k();
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.rules.len());
        for raw_rule in raw.rules {
            if raw_rule.name.trim().is_empty() || rules.iter().any(|r| r.name == raw_rule.name) {
                return Err(AggregateError::PolicyRule {
                    rule: raw_rule.name,
                    reason: "every rule needs a name of its own".to_owned(),
                });
            }
            rules.push(raw_rule.validate()?);
        }
        Ok(Self { k, rules })
    }

    /// The shipped default policy.
    pub fn default_policy() -> Result<Self, AggregateError> {
        Self::from_toml(DEFAULT_POLICY_TOML)
    }

    /// The rule with this name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"
[[rule]]
name = "drop"
signal = "attention"
below = 0.4
exit = 0.5
for_s = 20
cooldown_s = 120
action = { effect = "poll" }
"#;

    #[test]
    fn a_rule_parses_into_its_threshold_and_action() {
        let policy = Policy::from_toml(RULE).expect("valid");
        assert_eq!(policy.k, 5);
        let rule = policy.rule("drop").expect("present");
        assert_eq!(rule.threshold, Threshold::Below { enter: 0.4, exit: 0.5 });
        assert_eq!(rule.window, WindowSpan::TenSeconds);
        assert_eq!(rule.action, Action::Effect(Effect::Poll));
        assert_eq!((rule.for_s, rule.cooldown_s), (20, 120));
        assert!(rule.threshold.entered(0.39) && !rule.threshold.entered(0.45));
        assert!(rule.threshold.exited(0.51) && !rule.threshold.exited(0.45));
    }

    #[test]
    fn invalid_rules_are_refused_by_name() {
        // (edit to the valid rule, expected words in the error)
        let cases = [
            ("exit = 0.5", "exit = 0.4", "`drop`: `exit` must lie beyond"),
            ("exit = 0.5", "exit = 0.3", "`drop`: `exit` must lie beyond"),
            ("below = 0.4", "above = 0.4", "`drop`: `exit` must lie beyond"),
            ("below = 0.4", "below = 0.4\nabove = 0.6", "exactly one of"),
            ("exit = 0.5", "exit = 1.5", "from 0 to 1"),
            ("cooldown_s = 120", "cooldown_s = 0", "at least 1"),
            ("poll", "confetti", "unknown variant `confetti`"),
            ("for_s = 20", "for_sec = 20", "unknown field `for_sec`"),
            ("name = \"drop\"", "name = \"\"", "a name of its own"),
        ];
        for (from, to, expected) in cases {
            let text = RULE.replace(from, to);
            let error = Policy::from_toml(&text).expect_err(to).to_string();
            assert!(error.contains(expected), "{to}: {error}");
        }
        let twice = format!("{RULE}{RULE}");
        assert!(
            Policy::from_toml(&twice)
                .expect_err("duplicate")
                .to_string()
                .contains("`drop`")
        );
        let low_k = format!("k = 3\n{RULE}");
        assert!(matches!(
            Policy::from_toml(&low_k),
            Err(AggregateError::KBelowFloor { requested: 3, .. })
        ));
    }
}
