//! Permalinks: the notebook document as JSON, base64url-encoded, after `#nb=` in the URL, with
//! the build that made the link beside the document (`"made_by"`: version and commit; links made
//! before 2026-12-04 have none), so a page of another build can say so.
//!
//! Decoding never panics: every way a hand-edited or truncated link can be wrong maps to a
//! [`PermalinkError`] the page shows before it falls back to the defaults.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use super::document::{NotebookDoc, WalkerPolicy, DOC_VERSION};

const PREFIX: &str = "nb=";
/// Longer fragments are refused before decoding (a document is a few hundred bytes).
const MAX_FRAGMENT_BYTES: usize = 64 * 1024;

/// Why a link could not be opened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PermalinkError {
    #[error("the link does not hold a notebook (expected '#{PREFIX}…')")]
    NoDocument,
    #[error("the link is too long ({0} bytes)")]
    TooLong(usize),
    #[error("the link is damaged (not valid base64url): {0}")]
    Base64(String),
    #[error("the link is damaged (not a valid notebook document): {0}")]
    Json(String),
    #[error("the link was made by a newer TangleLab (document version {0}, this page reads up to {DOC_VERSION})")]
    NewerVersion(u32),
    #[error("the link's values are out of range: {0}")]
    OutOfRange(String),
}

/// The TangleLab build that made a link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MadeBy {
    /// The package version.
    pub version: String,
    /// The git commit the page was built from ("unknown" outside a checkout).
    pub commit: String,
}

/// The fragment (without '#') that reproduces `doc`.
pub fn encode_fragment(doc: &NotebookDoc) -> String {
    encode_fragment_made_by(doc, None)
}

/// [`encode_fragment`], naming the build that made the link when `made_by` is given.
pub fn encode_fragment_made_by(doc: &NotebookDoc, made_by: Option<&MadeBy>) -> String {
    let mut value = serde_json::to_value(doc).expect("notebook documents always serialise");
    if let (Some(made_by), Some(object)) = (made_by, value.as_object_mut()) {
        object.insert("made_by".into(), serde_json::to_value(made_by).expect("two strings serialise"));
    }
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(value.to_string()))
}

/// Reads a fragment (with or without the leading '#'). An empty fragment is `Ok(None)`.
pub fn decode_fragment(fragment: &str) -> Result<Option<NotebookDoc>, PermalinkError> {
    Ok(decode_fragment_made_by(fragment)?.map(|(doc, _)| doc))
}

/// [`decode_fragment`] with the build that made the link (None: the link does not say).
pub fn decode_fragment_made_by(fragment: &str) -> Result<Option<(NotebookDoc, Option<MadeBy>)>, PermalinkError> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    if fragment.is_empty() {
        return Ok(None);
    }
    if fragment.len() > MAX_FRAGMENT_BYTES {
        return Err(PermalinkError::TooLong(fragment.len()));
    }
    let payload = fragment.strip_prefix(PREFIX).ok_or(PermalinkError::NoDocument)?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|e| PermalinkError::Base64(e.to_string()))?;
    let mut value =
        serde_json::from_slice::<serde_json::Value>(&json).map_err(|e| PermalinkError::Json(e.to_string()))?;
    let version = value
        .get("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| PermalinkError::Json("missing \"version\"".into()))?;
    if version > u64::from(DOC_VERSION) {
        return Err(PermalinkError::NewerVersion(version as u32));
    }
    let made_by = match value.as_object_mut().and_then(|o| o.remove("made_by")) {
        Some(m) => {
            Some(serde_json::from_value::<MadeBy>(m).map_err(|e| PermalinkError::Json(format!("made_by: {e}")))?)
        }
        None => None,
    };
    if version < 2 {
        open_with_the_first_walker_policy(&mut value);
    }
    let mut doc: NotebookDoc = serde_json::from_value(value).map_err(|e| PermalinkError::Json(e.to_string()))?;
    doc.version = DOC_VERSION;
    doc.validate().map_err(PermalinkError::OutOfRange)?;
    Ok(Some((doc, made_by)))
}

/// A version-1 document predates the choice of Walker2D policy: every cell that runs one ran
/// the first shipped policy, so the walker and study cells get it where the document names
/// none (the newer default, seed 1, would change what the link shows).
fn open_with_the_first_walker_policy(value: &mut serde_json::Value) {
    let Some(doc) = value.as_object_mut() else { return };
    let original = serde_json::Value::from(WalkerPolicy::Original.name());
    for (cell, field) in [("walker", "policy"), ("study", "walker_policy")] {
        let entry = doc.entry(cell).or_insert_with(|| serde_json::json!({}));
        if let Some(cell) = entry.as_object_mut() {
            cell.entry(field).or_insert_with(|| original.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_names_the_build_that_made_it_and_older_links_name_none() {
        let made_by = MadeBy { version: "0.1.0".into(), commit: "abc123".into() };
        let doc = NotebookDoc::default();
        let link = encode_fragment_made_by(&doc, Some(&made_by));
        assert_eq!(decode_fragment_made_by(&link).unwrap(), Some((doc.clone(), Some(made_by))));
        assert_eq!(decode_fragment(&link).unwrap(), Some(doc.clone()));
        assert_eq!(decode_fragment_made_by(&encode_fragment(&doc)).unwrap(), Some((doc, None)));
        let bad = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(r#"{"version":1,"made_by":{"version":1}}"#));
        assert!(matches!(decode_fragment_made_by(&bad), Err(PermalinkError::Json(e)) if e.contains("made_by")));
    }
    use crate::notebook::LissajousCell;

    fn check(fragment: &str, expected: Result<Option<NotebookDoc>, PermalinkError>) {
        assert_eq!(decode_fragment(fragment), expected, "fragment {fragment:?}");
    }

    #[test]
    fn round_trips() {
        let doc =
            NotebookDoc { lissajous: LissajousCell { beta: 0.75, n_samples: 123, zscore: true }, ..Default::default() };
        let fragment = encode_fragment(&doc);
        check(&fragment, Ok(Some(doc.clone())));
        check(&format!("#{fragment}"), Ok(Some(doc)));
        check("", Ok(None));
        check("#", Ok(None));
    }

    #[test]
    fn malformed_links_are_clear_errors() {
        check("#something", Err(PermalinkError::NoDocument));
        assert!(matches!(decode_fragment("#nb=!!!"), Err(PermalinkError::Base64(_))));
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        assert!(matches!(decode_fragment(&enc("{not json")), Err(PermalinkError::Json(_))));
        assert!(matches!(decode_fragment(&enc(r#"{"lissajous":{}}"#)), Err(PermalinkError::Json(_))));
        check(&enc(r#"{"version":99}"#), Err(PermalinkError::NewerVersion(99)));
        assert!(matches!(
            decode_fragment(&enc(r#"{"version":1,"lissajous":{"beta":7.0,"n_samples":100}}"#)),
            Err(PermalinkError::OutOfRange(_))
        ));
        assert!(matches!(decode_fragment(&"nb=A".repeat(30000)), Err(PermalinkError::TooLong(_))));
        // A document from an older page with a cell missing gets that cell's defaults (a
        // version-1 document with the first shipped Walker2D policy).
        check(&enc(r#"{"version":2}"#), Ok(Some(NotebookDoc::default())));
        let mut v1 = NotebookDoc::default();
        v1.walker.policy = crate::notebook::WalkerPolicy::Original;
        v1.study.walker_policy = crate::notebook::WalkerPolicy::Original;
        check(&enc(r#"{"version":1}"#), Ok(Some(v1)));
    }

    #[test]
    fn policy_cell_parameters_travel_in_the_link() {
        use crate::notebook::{NetSize, PolicyBackends, PolicyCell};
        let policy =
            PolicyCell { n_agents: 8, n_steps: 20, net: NetSize::Small, seed: 42, backends: PolicyBackends::Cpu };
        let doc = NotebookDoc { policy: policy.clone(), ..Default::default() };
        check(&encode_fragment(&doc), Ok(Some(doc)));
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        // A link from before the policy cell opens with the cell's defaults.
        let old = enc(r#"{"version":1,"lissajous":{"beta":0.5,"n_samples":100,"zscore":false}}"#);
        assert_eq!(decode_fragment(&old).unwrap().unwrap().policy, PolicyCell::default());
        // Missing fields take their defaults; the names are the documented ones.
        let partial = enc(r#"{"version":1,"policy":{"n_agents":8,"net":"small","backends":"gpu"}}"#);
        let got = decode_fragment(&partial).unwrap().unwrap().policy;
        assert_eq!(
            got,
            PolicyCell { n_agents: 8, net: NetSize::Small, backends: PolicyBackends::Gpu, ..Default::default() }
        );
        for bad in [r#"{"version":1,"policy":{"n_agents":0}}"#, r#"{"version":1,"policy":{"n_steps":100000}}"#] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::OutOfRange(_))), "{bad}");
        }
        assert!(matches!(
            decode_fragment(&enc(r#"{"version":1,"policy":{"net":"huge"}}"#)),
            Err(PermalinkError::Json(_))
        ));
    }

    #[test]
    fn walker_cell_parameters_travel_in_the_link() {
        use crate::notebook::WalkerCell;
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        let walker = WalkerCell { command_mps: 1.8, playing: false, policy: WalkerPolicy::Seed3 };
        let doc = NotebookDoc { walker: walker.clone(), ..Default::default() };
        check(&encode_fragment(&doc), Ok(Some(doc)));
        // A link from before the walker cell opens with the cell's defaults (1.4 m/s, playing),
        // and, being version 1, with the first shipped policy.
        let old = enc(r#"{"version":1,"policy":{"n_agents":8}}"#);
        let got = decode_fragment(&old).unwrap().unwrap();
        let original = WalkerPolicy::Original;
        assert_eq!(got.walker, WalkerCell { command_mps: 1.4, playing: true, policy: original });
        assert_eq!(got.study.walker_policy, original);
        assert_eq!(got.policy.n_agents, 8);
        // Missing fields take their defaults; the names are the documented ones.
        let partial = enc(r#"{"version":1,"walker":{"playing":false}}"#);
        let got = decode_fragment(&partial).unwrap().unwrap();
        assert_eq!(got.walker, WalkerCell { command_mps: 1.4, playing: false, policy: original });
        assert_eq!(got.version, DOC_VERSION, "opened as the current version");
        // Version 2: a missing choice is the current default, seed 1; a named one is kept.
        let new = decode_fragment(&enc(r#"{"version":2,"walker":{"playing":false}}"#)).unwrap().unwrap();
        assert_eq!((new.walker.policy, new.study.walker_policy), (WalkerPolicy::Seed1, WalkerPolicy::Seed1));
        let named = enc(r#"{"version":1,"study":{"walker_policy":"seed2"}}"#);
        assert_eq!(decode_fragment(&named).unwrap().unwrap().study.walker_policy, WalkerPolicy::Seed2);
        assert!(matches!(
            decode_fragment(&enc(r#"{"version":2,"walker":{"policy":"seed9"}}"#)),
            Err(PermalinkError::Json(_))
        ));
        for bad in [r#"{"version":1,"walker":{"command_mps":0.5}}"#, r#"{"version":1,"walker":{"command_mps":2.2}}"#] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::OutOfRange(_))), "{bad}");
        }
        assert!(matches!(
            decode_fragment(&enc(r#"{"version":1,"walker":{"speed":1.0}}"#)),
            Err(PermalinkError::Json(_))
        ));
    }

    #[test]
    fn quadruped_cell_parameters_travel_in_the_link() {
        use crate::notebook::QuadrupedCell;
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        let quadruped = QuadrupedCell { u_mps: -1.5, v_mps: 0.5, r_radps: 0.25 };
        let doc = NotebookDoc { quadruped: quadruped.clone(), ..Default::default() };
        check(&encode_fragment(&doc), Ok(Some(doc)));
        let old = enc(r#"{"version":1,"walker":{"playing":false}}"#);
        assert_eq!(
            decode_fragment(&old).unwrap().unwrap().quadruped,
            QuadrupedCell { u_mps: 1.0, v_mps: 0.0, r_radps: 0.0 }
        );
        for bad in [
            r#"{"version":1,"quadruped":{"u_mps":2.5}}"#,
            r#"{"version":1,"quadruped":{"v_mps":-3}}"#,
            r#"{"version":1,"quadruped":{"r_radps":0.75}}"#,
        ] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::OutOfRange(_))), "{bad}");
        }
    }

    #[test]
    fn study_cell_parameters_travel_in_the_link() {
        use crate::notebook::StudyCell;
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        let study = StudyCell {
            robot: crate::task::Robot::Quadruped,
            protocol: crate::study::ProtocolKind::Opposing,
            agents_per_condition: 8,
            seconds: 4.5,
            seed: 3,
            walker_policy: crate::notebook::WalkerPolicy::Seed2,
        };
        let doc = NotebookDoc { study: study.clone(), ..Default::default() };
        check(&encode_fragment(&doc), Ok(Some(doc)));
        let named = enc(r#"{"version":1,"study":{"robot":"quadruped","protocol":"speed-sweep"}}"#);
        let got = decode_fragment(&named).unwrap().unwrap().study;
        assert_eq!(
            (got.robot, got.protocol, got.agents_per_condition),
            (crate::task::Robot::Quadruped, crate::study::ProtocolKind::SpeedSweep, 20)
        );
        for bad in [
            r#"{"version":1,"study":{"agents_per_condition":1000000}}"#,
            r#"{"version":1,"study":{"seconds":1e15}}"#,
            r#"{"version":1,"study":{"seconds":0.1}}"#,
        ] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::OutOfRange(_))), "{bad}");
        }
        assert!(matches!(
            decode_fragment(&enc(r#"{"version":1,"study":{"robot":"hexapod"}}"#)),
            Err(PermalinkError::Json(_))
        ));
    }

    #[test]
    fn reaching_grid_cell_parameters_travel_in_the_link() {
        use crate::notebook::ReachingGridCell;
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        let grid = ReachingGridCell { field: false, episodes: 10_000, seed: 7, paths: 3 };
        let doc = NotebookDoc { reaching_grid: grid.clone(), ..Default::default() };
        check(&encode_fragment(&doc), Ok(Some(doc)));
        let old = enc(r#"{"version":1,"walker":{"playing":false}}"#);
        assert_eq!(decode_fragment(&old).unwrap().unwrap().reaching_grid, ReachingGridCell::default());
        // A link asking for unbounded work is refused before anything runs.
        for bad in [
            r#"{"version":1,"reaching_grid":{"episodes":100000000}}"#,
            r#"{"version":1,"reaching_grid":{"episodes":0}}"#,
            r#"{"version":1,"reaching_grid":{"paths":1000}}"#,
            r#"{"version":1,"reaching_rnn":{"batches_per_phase":100000}}"#,
            r#"{"version":1,"reaching_dqn":{"frames":1000000000}}"#,
            r#"{"version":1,"reaching_dqn":{"eval_trials":0}}"#,
            r#"{"version":1,"reaching_dqn":{"eval_trials":100000}}"#,
        ] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::OutOfRange(_))), "{bad}");
        }
    }

    #[test]
    fn behaviour_cloning_cell_parameters_travel_in_the_link() {
        use crate::notebook::BrainiarbCell;
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        let cell = BrainiarbCell {
            episodes: 5,
            levels: vec![0.0, 0.2, 1.6],
            tsne: true,
            variant: crate::notebook::BrainiarbVariant::B,
            ..Default::default()
        };
        let doc = NotebookDoc { brainiarb: cell, ..Default::default() };
        check(&encode_fragment(&doc), Ok(Some(doc)));
        let old = enc(r#"{"version":1,"walker":{"playing":false}}"#);
        assert_eq!(decode_fragment(&old).unwrap().unwrap().brainiarb, BrainiarbCell::default());
        for bad in [
            r#"{"version":1,"brainiarb":{"episodes":100000}}"#,
            r#"{"version":1,"brainiarb":{"steps":100000000}}"#,
            r#"{"version":1,"brainiarb":{"levels":[]}}"#,
            r#"{"version":1,"brainiarb":{"levels":[0.3]}}"#,
            r#"{"version":1,"brainiarb":{"max_rows":10000000}}"#,
        ] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::OutOfRange(_))), "{bad}");
        }
        assert!(decode_fragment(&enc(r#"{"version":1,"brainiarb":{"variant":"c"}}"#)).is_err());
    }

    #[test]
    fn turned_3d_views_travel_in_the_link_and_bad_cameras_are_refused() {
        use crate::notebook::ViewCamera;
        let enc = |s: &str| format!("nb={}", URL_SAFE_NO_PAD.encode(s));
        let mut doc = NotebookDoc::default();
        doc.views.insert("lissajous-3d".into(), ViewCamera { yaw_rad: -2.25, pitch_rad: 1.1, distance: 7.5 });
        doc.views.insert("study-fig2-cell".into(), ViewCamera { yaw_rad: 0.1, pitch_rad: -0.3, distance: 0.2 });
        check(&encode_fragment(&doc), Ok(Some(doc.clone())));
        // A document without turned views writes no "views" key, so older pages read it.
        let json = serde_json::to_string(&NotebookDoc::default()).unwrap();
        assert!(!json.contains("views"), "{json}");
        let old = enc(r#"{"version":1}"#);
        assert!(decode_fragment(&old).unwrap().unwrap().views.is_empty());
        let ok = r#"{"version":1,"views":{"a-1":{"yaw_rad":0,"pitch_rad":0,"distance":1}}}"#;
        assert!(decode_fragment(&enc(ok)).is_ok());
        let too_many = format!(
            r#"{{"version":1,"views":{{{}}}}}"#,
            (0..=ViewCamera::MAX_VIEWS)
                .map(|i| format!(r#""v{i}":{{"yaw_rad":0,"pitch_rad":0,"distance":1}}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let long_id =
            format!(r#"{{"version":1,"views":{{"{}":{{"yaw_rad":0,"pitch_rad":0,"distance":1}}}}}}"#, "a".repeat(49));
        for bad in [
            r#"{"version":1,"views":{"a":{"yaw_rad":0,"pitch_rad":1.6,"distance":1}}}"#,
            r#"{"version":1,"views":{"a":{"yaw_rad":0,"pitch_rad":0,"distance":1000}}}"#,
            r#"{"version":1,"views":{"a":{"yaw_rad":0,"pitch_rad":0,"distance":0.1}}}"#,
            r#"{"version":1,"views":{"a":{"yaw_rad":1e30,"pitch_rad":0,"distance":1}}}"#,
            r#"{"version":1,"views":{"":{"yaw_rad":0,"pitch_rad":0,"distance":1}}}"#,
            r#"{"version":1,"views":{"a b":{"yaw_rad":0,"pitch_rad":0,"distance":1}}}"#,
            &long_id,
            &too_many,
        ] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::OutOfRange(_))), "{bad}");
        }
        // A camera with a missing or an unknown field is a damaged link, not a default.
        for bad in [
            r#"{"version":1,"views":{"a":{"yaw_rad":0,"pitch_rad":0}}}"#,
            r#"{"version":1,"views":{"a":{"yaw_rad":0,"pitch_rad":0,"distance":1,"roll":0}}}"#,
        ] {
            assert!(matches!(decode_fragment(&enc(bad)), Err(PermalinkError::Json(_))), "{bad}");
        }
    }
}
