//! The shipped policies' loading and the messages the live robot cells share: fetch a model and
//! its card, check them (sha256, architecture, robot: `policy::load_with_card`), start a
//! [`Session`] on them, and say in one line what was loaded; the text for an episode's end; a
//! readout that may be missing.

use super::shell::fetch_bytes;
use crate::policy::{load_with_card, ModelCard, PolicyWeights};
use crate::rollout::session::{Session, SessionConfig};
use crate::task::{Robot, TerminationReason};

/// Fetches `model_url` with its card `card_url` and checks them (sha256, architecture, that
/// the card is `robot`'s).
pub async fn fetch_checked_weights(
    robot: Robot,
    model_url: &str,
    card_url: &str,
) -> Result<(PolicyWeights, ModelCard), String> {
    let card_bytes = fetch_bytes(card_url).await?;
    let card_text = String::from_utf8(card_bytes).map_err(|_| format!("{card_url}: not UTF-8 text"))?;
    let weights_bytes = fetch_bytes(model_url).await?;
    let (weights, card) = load_with_card(&weights_bytes, &card_text).map_err(|e| format!("{model_url}: {e}"))?;
    if card.robot != robot.name() {
        return Err(format!("{card_url}: the model drives a {:?}, not a {robot}", card.robot));
    }
    Ok((weights, card))
}

/// Fetches and checks `model_url` with its card `card_url`, and starts a session of `robot` at
/// `command`; returns it with a one-line description of the policy.
pub async fn load_session(
    robot: Robot,
    model_url: &str,
    card_url: &str,
    command: &[f64],
) -> Result<(Session, String), String> {
    let (weights, card) = fetch_checked_weights(robot, model_url, card_url).await?;
    let session = Session::new(robot, &weights, SessionConfig { command: command.to_vec(), ..Default::default() })
        .map_err(|e| format!("{model_url}: {e}"))?;
    let a = &card.architecture;
    let widths: Vec<String> = a.mlp_widths.iter().map(|w| w.to_string()).collect();
    let evaluation = match (card.metrics.get("eval_worst_abs_rel_error"), card.metrics.get("eval_worst_fell_fraction"))
    {
        (Some(error), Some(fell)) => format!(
            " · card's evaluation over the study's conditions: worst velocity error {:.1} %, worst fall fraction {:.0} %",
            100.0 * error,
            100.0 * fell
        ),
        _ => String::new(),
    };
    let summary = format!(
        "policy {}-{}-LSTM{}-{} · sha256 {}… · trained here, seed {}, commit {}{evaluation}",
        a.n_obs,
        widths.join("-"),
        a.n_hidden,
        a.n_actions,
        &card.weights_sha256.get(..12).unwrap_or(&card.weights_sha256),
        card.training.seed,
        card.training.commit.get(..12).unwrap_or(&card.training.commit)
    );
    Ok((session, summary))
}

/// What the page says when an episode of `robot` ended (the session has restarted it).
pub fn ending_text(robot: Robot, reason: &TerminationReason, after_secs: f64) -> String {
    match reason {
        TerminationReason::Fell => {
            let rule = match robot {
                Robot::Walker2d => "torso too low or tilted too far",
                Robot::Quadruped => "base, hip or thigh on the ground",
            };
            format!("Fell after {after_secs:.1} s ({rule}); restarted.")
        }
        TerminationReason::BlowUp(why) => {
            format!("The simulation blew up after {after_secs:.1} s ({why}); restarted.")
        }
    }
}

/// `v` with `digits` decimals, or a dash when it is missing or not finite.
pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "—".into(),
    }
}
