//! Names that become parts of paths and ids: experiments, run ids, endpoints,
//! scenarios, datasets and grids.

/// Longest name accepted for experiments, endpoints, scenarios, datasets and grids.
pub const MAX_NAME_LEN: usize = 64;

/// What names a thing; decides which characters its name may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// `experiment.name`: names a results directory (may use `.`).
    Experiment,
    /// `--run-id`: names a run directory (may use `.`).
    Run,
    Endpoint,
    Scenario,
    Dataset,
    Grid,
}

impl NameKind {
    /// The word used in messages (`experiment`, `run`, `endpoint`, …).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Experiment => "experiment",
            NameKind::Run => "run",
            NameKind::Endpoint => "endpoint",
            NameKind::Scenario => "scenario",
            NameKind::Dataset => "dataset",
            NameKind::Grid => "grid",
        }
    }

    /// Names of directories may also use `.`.
    fn allows_dots(self) -> bool {
        matches!(self, NameKind::Experiment | NameKind::Run)
    }
}

/// A name that is not path-safe: what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NameError {
    pub message: String,
    pub hint: &'static str,
}

/// Checks a path-safe name: ASCII letters, digits, `_` and `-` (experiments and
/// run ids, which name directories, may also use `.`), starting with a letter or
/// digit, at most [`MAX_NAME_LEN`] bytes. Such a name is always one plain path
/// component: never empty, `.`, `..`, absolute or containing a separator.
///
/// # Errors
/// A [`NameError`] saying what is wrong and which characters are allowed.
pub fn check_name(kind: NameKind, name: &str) -> Result<(), NameError> {
    let dots = kind.allows_dots();
    let what = kind.as_str();
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || (dots && c == '.');
    let hint = if dots {
        "use letters, digits, `_`, `-` and `.`, starting with a letter or digit (it names a directory)"
    } else {
        "use letters, digits, `_` and `-`, starting with a letter or digit (names appear in point ids and file names)"
    };
    if name.is_empty() {
        return Err(NameError {
            message: format!("the {what} name is empty"),
            hint,
        });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError {
            message: format!("the {what} name `{name}` is longer than {MAX_NAME_LEN} characters"),
            hint: "choose a shorter name",
        });
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || !name.chars().all(ok_char) {
        return Err(NameError {
            message: format!("`{name}` is not a valid {what} name"),
            hint,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_path_components() {
        for ok in ["a", "vllm-1", "Qwen3_8B", "x".repeat(64).as_str()] {
            assert!(check_name(NameKind::Endpoint, ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a.b",
            "a/b",
            "..",
            "é",
            "a b",
            "x".repeat(65).as_str(),
        ] {
            assert!(check_name(NameKind::Endpoint, bad).is_err(), "{bad}");
        }
        assert!(check_name(NameKind::Experiment, "run-v0.2").is_ok());
        assert!(check_name(NameKind::Run, "20260101T000000Z.1").is_ok());
        assert!(check_name(NameKind::Experiment, "..").is_err());
        assert!(check_name(NameKind::Run, ".hidden").is_err());
    }

    #[test]
    fn errors_say_what_and_how() {
        let e = check_name(NameKind::Dataset, "a/b").unwrap_err();
        assert_eq!(e.message, "`a/b` is not a valid dataset name");
        assert!(e.hint.contains("letters, digits"));
        let e = check_name(NameKind::Run, "").unwrap_err();
        assert_eq!(e.message, "the run name is empty");
        assert!(e.hint.contains("`.`"));
    }
}
