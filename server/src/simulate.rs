//! The simulated audience: viewers that follow a scripted room (attention
//! drifting down then recovering, a happy moment, a confused moment) with
//! noise of their own, and connect over real loopback WebSockets, so a new
//! user sees a live panel without a camera and the real ingest path is
//! exercised. Also the load test's viewers.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use parterre_core::{
    AnonymousTraits,
    traits::{Expression, TRAITS_VERSION},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::sync::watch;
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{
        Message,
        protocol::{WebSocketConfig, frame::coding::CloseCode},
    },
};

use crate::{
    ServerError,
    protocol::{PERMANENCE_VERSION, PermanenceMessage, ViewerMessage},
    webinar::Context,
};

/// The script repeats every four minutes.
const CYCLE_S: f64 = 240.0;
/// A permanence report goes with every tenth message.
const PERMANENCE_EVERY: u64 = 10;

/// The room's mood at one moment of the script.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mood {
    /// Mean attention.
    pub attention: f64,
    /// Mean probability of a happy face.
    pub happy: f64,
    /// Mean probability of sad + fearful + surprised.
    pub confused: f64,
}

/// The scripted mood `t_s` seconds in: attention drifts from 0.85 to 0.3
/// over 50 s, stays low until 80 s and recovers by 100 s; a happy moment at
/// 110–145 s; a confused moment at 160–195 s. Each lasts well beyond the
/// default policy's `for_s` plus the 10 s window's granularity (a viewer
/// counts once per 10 s), so each one fires its rule.
pub fn script(t_s: f64) -> Mood {
    let t = t_s.rem_euclid(CYCLE_S);
    let attention = if t < 50.0 {
        0.85 - 0.55 * t / 50.0
    } else if t < 80.0 {
        0.3
    } else if t < 100.0 {
        0.3 + 0.55 * (t - 80.0) / 20.0
    } else {
        0.85
    };
    let happy = if (110.0..145.0).contains(&t) { 0.75 } else { 0.1 };
    let confused = if (160.0..195.0).contains(&t) { 0.55 } else { 0.06 };
    Mood {
        attention,
        happy,
        confused,
    }
}

/// One simulated person: fixed apparent traits, and a noise generator.
#[derive(Debug)]
pub struct Persona {
    rng: StdRng,
    age_years: f32,
    female: f32,
    glasses: f32,
    beard: f32,
}

fn unit(x: f64) -> f32 {
    x.clamp(0.0, 1.0) as f32
}

impl Persona {
    /// A persona drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let age_years = rng.random_range(16.0..75.0);
        let female = if rng.random_bool(0.5) {
            rng.random_range(0.6..1.0)
        } else {
            rng.random_range(0.0..0.4)
        };
        let glasses = if rng.random_bool(0.4) { 0.9 } else { 0.05 };
        let beard = if female < 0.5 && rng.random_bool(0.3) {
            0.85
        } else {
            0.05
        };
        Self {
            rng,
            age_years,
            female,
            glasses,
            beard,
        }
    }

    fn noise(&mut self, spread: f64) -> f64 {
        self.rng.random_range(-spread..spread)
    }

    /// This persona's traits at `t_s` into the script, valid for `context`.
    pub fn traits(&mut self, t_s: f64, context: Context) -> AnonymousTraits {
        if self.rng.random_bool(0.05) {
            return AnonymousTraits::no_face(unit(0.3 + self.noise(0.2)));
        }
        let mood = script(t_s);
        let happy = (mood.happy + self.noise(0.1)).max(0.0);
        let confused = (mood.confused + self.noise(0.05)).max(0.0);
        let angry = 0.02;
        let disgusted = 0.02;
        let neutral = (1.0 - happy - confused - angry - disgusted).max(0.05);
        let total = happy + confused + angry + disgusted + neutral;
        let share = |x: f64| (x / total) as f32;
        let expression = Expression {
            neutral: share(neutral),
            happy: share(happy),
            sad: share(confused * 0.4),
            angry: share(angry),
            fearful: share(confused * 0.2),
            disgusted: share(disgusted),
            surprised: share(confused * 0.4),
        };
        let traits = AnonymousTraits {
            v: TRAITS_VERSION,
            face_present: true,
            motion: unit(0.1 + self.noise(0.08)),
            expression: Some(expression),
            age_years: Some(self.age_years),
            gender_female: Some(self.female),
            glasses: Some(self.glasses),
            beard: Some(self.beard),
            head_pose: None,
            attention: Some(unit(mood.attention + self.noise(0.15))),
            quality: Some(unit(0.8 + self.noise(0.15))),
        };
        traits.restricted_to(context.trait_set())
    }

    fn permanence(&mut self, frames: u64) -> PermanenceMessage {
        let p50_ms = 25.0 + self.noise(5.0);
        let p99_ms = p50_ms + 40.0 + self.noise(10.0);
        PermanenceMessage {
            v: PERMANENCE_VERSION,
            frames,
            mean_ms: p50_ms + 3.0,
            p50_ms,
            p99_ms,
            max_ms: p99_ms + 60.0 + self.noise(30.0),
            over_budget: 0,
        }
    }
}

/// How one simulated viewer runs.
#[derive(Debug, Clone)]
pub struct ViewerRun {
    /// `ws://…/ws/viewer?webinar=ID`.
    pub url: String,
    /// The webinar's context.
    pub context: Context,
    /// Time between messages.
    pub period: Duration,
    /// Wait before the first message.
    pub start_after: Duration,
    /// Traits messages to send; `None` until stopped.
    pub messages: Option<u64>,
    /// Keep each traits message's send time (the load test).
    pub record: bool,
    /// The persona's seed.
    pub seed: u64,
    /// The script's time zero, shared by the whole audience.
    pub epoch: Instant,
}

fn encode(message: &ViewerMessage) -> Result<Message, ServerError> {
    serde_json::to_string(message)
        .map(|json| Message::Text(json.into()))
        .map_err(|e| ServerError::Client(e.to_string()))
}

/// Runs one viewer until its messages are sent or `stop` turns true;
/// returns the send times when recording. A close from the server is an
/// error (a simulated viewer only sends valid messages).
pub async fn run_viewer(run: ViewerRun, mut stop: watch::Receiver<bool>) -> Result<Vec<Instant>, ServerError> {
    let client = |e: tokio_tungstenite::tungstenite::Error| ServerError::Client(e.to_string());
    // Small buffers, as on the server: the load test runs thousands of us.
    let config = WebSocketConfig::default()
        .read_buffer_size(4_096)
        .write_buffer_size(4_096);
    let (mut socket, _) = connect_async_with_config(run.url.as_str(), Some(config), false)
        .await
        .map_err(client)?;
    let mut persona = Persona::new(run.seed);
    let mut sent = Vec::new();
    let mut count = 0u64;
    // Spread the audience over the period rather than sending in lockstep.
    let phase = run.period.mul_f64(persona.rng.random_range(0.0..1.0));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + run.start_after + phase, run.period);
    while run.messages.is_none_or(|total| count < total) {
        tokio::select! {
            _ = ticks.tick() => {
                if count % PERMANENCE_EVERY == 0 {
                    let report = persona.permanence(count * 3);
                    socket.send(encode(&ViewerMessage::Permanence(report))?).await.map_err(client)?;
                }
                let traits = persona.traits(run.epoch.elapsed().as_secs_f64(), run.context);
                socket.send(encode(&ViewerMessage::Traits { traits })?).await.map_err(client)?;
                if run.record {
                    sent.push(Instant::now());
                }
                count += 1;
            }
            incoming = socket.next() => match incoming {
                // The server going away (shutdown) ends the run normally.
                Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Away => break,
                Some(Ok(Message::Close(frame))) => {
                    return Err(ServerError::Client(format!("closed by the server: {frame:?}")));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(client(e)),
                None => return Err(ServerError::Client("the server hung up".into())),
            },
            _ = stop.changed() => break,
        }
    }
    let _ = socket.close(None).await;
    Ok(sent)
}

/// Spawns `viewers` simulated viewers of the webinar at `url`, sending
/// twice a second until `stop` turns true.
///
/// Their first messages are spread evenly over 10 s. A live window counts a
/// viewer with its first sample and again only once that second has left
/// the window, so viewers who all start in the same second all leave the
/// 10 s window in the same instant, every 10 s: the window then briefly
/// holds fewer than k viewers, which breaks off every 10 s rule's
/// condition. A real audience joins spread out; so does this one.
pub fn spawn_audience(url: String, viewers: u32, context: Context, stop: watch::Receiver<bool>) {
    let epoch = Instant::now();
    let spread = Duration::from_secs(10);
    for seed in 0..u64::from(viewers) {
        let run = ViewerRun {
            url: url.clone(),
            context,
            period: Duration::from_millis(500),
            start_after: spread.mul_f64(seed as f64 / f64::from(viewers)),
            messages: None,
            record: false,
            seed,
            epoch,
        };
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = run_viewer(run, stop).await {
                tracing::warn!(%e, "a simulated viewer stopped");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_drifts_down_recovers_and_has_its_moments() {
        assert!((script(0.0).attention - 0.85).abs() < 1e-9);
        assert!((script(25.0).attention - 0.575).abs() < 1e-9);
        assert!((script(70.0).attention - 0.3).abs() < 1e-9);
        assert!((script(100.0).attention - 0.85).abs() < 1e-9);
        assert_eq!(script(120.0).happy, 0.75);
        assert_eq!(script(170.0).confused, 0.55);
        assert_eq!((script(40.0).happy, script(40.0).confused), (0.1, 0.06));
        assert_eq!(script(CYCLE_S + 120.0), script(120.0));
    }

    #[test]
    fn personas_send_only_valid_traits() {
        for seed in 0..50 {
            let mut persona = Persona::new(seed);
            for t in 0..200 {
                for context in [Context::General, Context::Workplace] {
                    let traits = persona.traits(f64::from(t), context);
                    traits.validate(context.trait_set()).expect("valid");
                }
                crate::protocol::validate_permanence(persona.permanence(10)).expect("valid permanence");
            }
        }
    }
}
