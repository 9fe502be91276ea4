//! The static list of models, by name: what `--model` accepts.

use crate::backtest::DEFAULT_CALIBRATION_ISSUES;
use crate::baseline::{Climatology, Persistence, SeasonalNaive};
use crate::ensemble::Ensemble;
use crate::model::Model;
use crate::{Learned, Mstl};
use std::fmt;

/// Settings that change how models are trained, shared by every model that has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct ModelOptions {
    /// Learned models train only on targets before this time (CarbonCast's protocol: a frozen
    /// training period before the test window); `None` trains on everything before each issue.
    pub train_before: Option<jiff::Timestamp>,
}

/// The base models (every model but the ensemble), baselines first, in a fixed order.
pub fn all_models() -> Vec<Box<dyn Model>> {
    all_models_with(&ModelOptions::default())
}

/// [`all_models`] with `options` applied.
pub fn all_models_with(options: &ModelOptions) -> Vec<Box<dyn Model>> {
    vec![
        Box::new(Persistence),
        Box::new(SeasonalNaive),
        Box::new(Climatology),
        Box::new(Mstl::default()),
        Box::new(Learned {
            train_before: options.train_before,
            ..Learned::default()
        }),
    ]
}

/// Every model name `model_by_name` accepts, the base models in [`all_models`] order, then
/// `ensemble`.
pub fn model_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = all_models().iter().map(|m| m.name()).collect();
    names.push("ensemble");
    names
}

/// The model called `name` (exact, lower case); `ensemble` (alias `auto`) is the ensemble of
/// [`all_models`] weighted over [`DEFAULT_CALIBRATION_ISSUES`] issues.
pub fn model_by_name(name: &str) -> Result<Box<dyn Model>, UnknownModel> {
    model_by_name_with(name, &ModelOptions::default())
}

/// [`model_by_name`] with `options` applied.
pub fn model_by_name_with(
    name: &str,
    options: &ModelOptions,
) -> Result<Box<dyn Model>, UnknownModel> {
    if name == "ensemble" || name == "auto" {
        return Ok(Box::new(Ensemble::new(
            all_models_with(options),
            DEFAULT_CALIBRATION_ISSUES,
        )));
    }
    all_models_with(options)
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| UnknownModel::new(name))
}

/// A model name that is not registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnknownModel {
    /// The name given.
    pub name: String,
    /// The closest known name, if any is close.
    pub suggestion: Option<&'static str>,
    /// All known names.
    pub known: Vec<&'static str>,
}

impl UnknownModel {
    /// The error for `name`, with the closest known name (Levenshtein distance at most 3, or
    /// a known name that starts with it).
    pub fn new(name: &str) -> UnknownModel {
        let known = model_names();
        let lower = name.trim().to_ascii_lowercase();
        let suggestion = known
            .iter()
            .map(|k| (strsim::levenshtein(&lower, k), *k))
            .filter(|(d, k)| *d <= 3 || (!lower.is_empty() && k.starts_with(&lower)))
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k);
        UnknownModel {
            name: name.to_string(),
            suggestion,
            known,
        }
    }
}

impl fmt::Display for UnknownModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown model `{}`", self.name)?;
        if let Some(s) = self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        write!(
            f,
            ". Known models: {}, and `auto` (the ensemble)",
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownModel {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_listed_name_resolves_to_itself() {
        for name in model_names() {
            assert_eq!(model_by_name(name).unwrap().name(), name);
        }
        let names = model_names();
        assert_eq!(
            &names[..3],
            &["persistence", "seasonal-naive", "climatology"]
        );
        assert_eq!(names.last(), Some(&"ensemble"));
    }

    #[test]
    fn unknown_names_list_the_known_ones_and_the_closest() {
        let err = model_by_name("persistance").err().unwrap();
        let text = err.to_string();
        assert!(text.contains("unknown model `persistance`"), "{text}");
        assert!(text.contains("(did you mean `persistence`?)"), "{text}");
        assert!(
            text.contains("climatology") && text.contains("ensemble"),
            "{text}"
        );
        let err = model_by_name("zzzzzzzzzzzz").err().unwrap();
        assert_eq!(err.suggestion, None);
        assert!(!err.to_string().contains("did you mean"));
    }
}
