//! The JSON model card that sits beside a weights file: what the policy drives, what it sees
//! and does, how it was made and how well it did, and the sha256 of the weights it describes.
//!
//! Loading a policy with its card ([`load_with_card`]) verifies the sha256 and that the
//! architecture in the card is the one inferred from the weights.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::safetensors_io::{load_safetensors, WeightsError};
use super::weights::{PolicyShape, PolicyWeights};

/// The card's format version; bumped when a field changes meaning.
pub const CARD_FORMAT_VERSION: u32 = 1;

/// Why a card could not be read or does not match its weights.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("not a readable model card: {0}")]
    Json(String),
    #[error("model card format version {got} is not supported (this build reads version {CARD_FORMAT_VERSION})")]
    Version { got: u32 },
    #[error("sha256 mismatch: the card expects {expected} but the weights file hashes to {actual}")]
    Sha256Mismatch { expected: String, actual: String },
    #[error("the card describes {card:?} but the weights have {weights:?}")]
    Architecture { card: Box<PolicyShape>, weights: Box<PolicyShape> },
    #[error("the card's {what} lists {got} entries for {expected} {what}")]
    Spec { what: &'static str, got: usize, expected: usize },
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// What the policy observes, entry by entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationSpec {
    pub n_obs: usize,
    /// One name per entry (`(n_obs)`), e.g. "torso_z_m"; may be empty when unknown.
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// What the policy outputs, entry by entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionSpec {
    pub n_actions: usize,
    /// One name per motor (`(n_actions)`); may be empty when unknown.
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// The architecture as stored in the card (all sizes; activation and normalisation are fixed
/// by this crate and recorded for readers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub n_obs: usize,
    pub mlp_widths: Vec<usize>,
    pub n_hidden: usize,
    pub n_actions: usize,
    /// "elu" after every dense layer.
    pub activation: String,
    /// "clamp((o - mean) / sqrt(var + 1e-5), -5, 5)".
    pub obs_normalisation: String,
}

impl Architecture {
    pub fn from_shape(shape: &PolicyShape) -> Self {
        Self {
            n_obs: shape.n_obs,
            mlp_widths: shape.mlp_widths.clone(),
            n_hidden: shape.n_hidden,
            n_actions: shape.n_actions,
            activation: "elu".into(),
            obs_normalisation: "clamp((o - mean) / sqrt(var + 1e-5), -5, 5)".into(),
        }
    }

    pub fn shape(&self) -> PolicyShape {
        PolicyShape {
            n_obs: self.n_obs,
            mlp_widths: self.mlp_widths.clone(),
            n_hidden: self.n_hidden,
            n_actions: self.n_actions,
        }
    }
}

/// How the weights were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// The command line that produced the weights.
    pub command: String,
    pub seed: u64,
    /// The source commit of the code that produced them.
    pub commit: String,
}

/// The model card (serialised as JSON beside the weights file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub format_version: u32,
    /// Robot model name, as `task::Robot::name` spells it.
    pub robot: String,
    pub observation: ObservationSpec,
    pub action: ActionSpec,
    pub architecture: Architecture,
    pub training: Training,
    /// Named results (e.g. "mean_return", "speed_error_frac").
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Lower-case hex sha256 of the weights file's bytes.
    pub weights_sha256: String,
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl ModelCard {
    /// A card for `weights_bytes` (the safetensors file) holding `weights`; metrics empty and
    /// observation/action names left for the caller to fill in.
    pub fn describe(robot: &str, weights: &PolicyWeights, weights_bytes: &[u8], training: Training) -> Self {
        let shape = weights.shape();
        Self {
            format_version: CARD_FORMAT_VERSION,
            robot: robot.into(),
            observation: ObservationSpec { n_obs: shape.n_obs, names: Vec::new(), description: String::new() },
            action: ActionSpec { n_actions: shape.n_actions, names: Vec::new(), description: String::new() },
            architecture: Architecture::from_shape(&shape),
            training,
            metrics: BTreeMap::new(),
            weights_sha256: sha256_hex(weights_bytes),
        }
    }

    /// Parses a card and checks that it is self-consistent (version, spec sizes).
    pub fn from_json(text: &str) -> Result<Self, CardError> {
        let card: Self = serde_json::from_str(text).map_err(|e| CardError::Json(e.to_string()))?;
        if card.format_version != CARD_FORMAT_VERSION {
            return Err(CardError::Version { got: card.format_version });
        }
        let arch = &card.architecture;
        let checks = [
            ("observation sizes", card.observation.n_obs, arch.n_obs),
            ("action sizes", card.action.n_actions, arch.n_actions),
        ];
        for (what, got, expected) in checks {
            if got != expected {
                return Err(CardError::Spec { what, got, expected });
            }
        }
        let names = [
            ("observation names", card.observation.names.len(), arch.n_obs),
            ("action names", card.action.names.len(), arch.n_actions),
        ];
        for (what, got, expected) in names {
            if got != 0 && got != expected {
                return Err(CardError::Spec { what, got, expected });
            }
        }
        Ok(card)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).expect("a model card serialises")
    }

    /// Fails unless `weights_bytes` hash to the card's sha256.
    pub fn verify_sha256(&self, weights_bytes: &[u8]) -> Result<(), CardError> {
        let actual = sha256_hex(weights_bytes);
        if actual != self.weights_sha256.to_ascii_lowercase() {
            return Err(CardError::Sha256Mismatch { expected: self.weights_sha256.clone(), actual });
        }
        Ok(())
    }
}

/// Loads weights with their card: parses the card, verifies the weights' sha256, loads and
/// checks the weights, and checks that the card's architecture is the weights' one.
pub fn load_with_card(weights_bytes: &[u8], card_json: &str) -> Result<(PolicyWeights, ModelCard), CardError> {
    let card = ModelCard::from_json(card_json)?;
    card.verify_sha256(weights_bytes)?;
    let weights = load_safetensors(weights_bytes)?;
    let shape = weights.shape();
    if card.architecture.shape() != shape {
        return Err(CardError::Architecture { card: Box::new(card.architecture.shape()), weights: Box::new(shape) });
    }
    Ok((weights, card))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::save_safetensors;

    fn weights_and_card() -> (Vec<u8>, String) {
        let shape = PolicyShape { n_obs: 4, mlp_widths: vec![6], n_hidden: 3, n_actions: 2 };
        let w = PolicyWeights::random(&shape, 5);
        let bytes = save_safetensors(&w).unwrap();
        let training = Training { command: "test".into(), seed: 5, commit: "abc123".into() };
        let mut card = ModelCard::describe("test-robot", &w, &bytes, training);
        card.metrics.insert("mean_return".into(), 12.5);
        (bytes, card.to_json())
    }

    #[test]
    fn sha256_of_known_strings() {
        // FIPS 180-2 test vectors.
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn a_card_round_trips_and_verifies_its_weights() {
        let (bytes, json) = weights_and_card();
        let (w, card) = load_with_card(&bytes, &json).unwrap();
        assert_eq!(card.robot, "test-robot");
        assert_eq!(card.metrics["mean_return"], 12.5);
        assert_eq!(card.architecture.shape(), w.shape());
        assert_eq!(ModelCard::from_json(&card.to_json()).unwrap(), card);
    }

    #[test]
    fn mismatches_are_named() {
        let (mut bytes, json) = weights_and_card();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let m = load_with_card(&bytes, &json).unwrap_err().to_string();
        assert!(m.starts_with("sha256 mismatch: the card expects"), "{m}");

        let (bytes, json) = weights_and_card();
        let wrong_arch = json.replace("\"n_hidden\": 3", "\"n_hidden\": 5");
        let m = load_with_card(&bytes, &wrong_arch).unwrap_err().to_string();
        assert!(m.contains("the card describes") && m.contains("n_hidden: 5"), "{m}");

        let m = load_with_card(&bytes, "{\"robot\": 1}").unwrap_err().to_string();
        assert!(m.starts_with("not a readable model card"), "{m}");
        let m = load_with_card(&bytes, &json.replace("\"format_version\": 1", "\"format_version\": 9")).unwrap_err();
        assert!(m.to_string().contains("format version 9"), "{m}");
    }
}
