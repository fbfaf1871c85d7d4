//! Reporting an error as one line of text, each cause said once.
//!
//! Library errors say their own context and leave the cause to [`std::error::Error::source`]
//! (`#[error("database error")] Sql(#[from] rusqlite::Error)`), or forward both with
//! `#[error(transparent)]`. Whoever shows the error (the command line, the app) walks that chain
//! once with [`error_chain`].

use std::error::Error;

/// The error and its causes joined with ": ", outermost first, as in
/// "could not read the export profile lims.toml: No such file or directory (os error 2)".
///
/// A cause whose text is already in the line is left out (an error that still prints its cause
/// in its own message, or a transparent wrapper), and so is a last cause that only puts a label
/// in front of something already said: SQLite's "Error code 14: unable to open database file"
/// under "unable to open database file: /mnt/x/stopgap.db". So even an error from a library that
/// repeats itself is said once.
pub fn error_chain(e: &dyn Error) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        let next = c.source();
        let repeated = line.contains(text.trim()) || (next.is_none() && only_labels(&line, &text));
        if !repeated {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = next;
    }
    line
}

/// Whether `text` is a label followed by something `line` says already ("Error code 5: database
/// is locked" after "database is locked").
fn only_labels(line: &str, text: &str) -> bool {
    text.split_once(": ")
        .map(|(_label, rest)| rest.trim())
        .is_some_and(|rest| !rest.is_empty() && line.contains(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cause that says `message` and has `source` under it.
    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    struct Layer {
        message: String,
        source: Option<Box<Layer>>,
    }

    fn chain(messages: &[&str]) -> Layer {
        let mut layer: Option<Box<Layer>> = None;
        for m in messages.iter().rev() {
            layer = Some(Box::new(Layer {
                message: (*m).to_owned(),
                source: layer,
            }));
        }
        *layer.unwrap()
    }

    #[test]
    fn joins_each_cause_with_a_colon_outermost_first() {
        let e = chain(&[
            "could not export batch B000003",
            "could not write /exports/b3.csv",
            "No space left on device (os error 28)",
        ]);
        assert_eq!(
            error_chain(&e),
            "could not export batch B000003: could not write /exports/b3.csv: No space left on \
             device (os error 28)"
        );
    }

    #[test]
    fn an_error_without_a_cause_is_its_own_message() {
        let e = chain(&["no requests match: nothing was exported"]);
        assert_eq!(error_chain(&e), "no requests match: nothing was exported");
    }

    #[test]
    fn a_cause_already_in_its_wrapper_message_is_said_once() {
        // The old style: a wrapper that prints its cause in its own message too.
        let e = chain(&[
            "could not read the export profile lims.toml: No such file or directory (os error 2)",
            "No such file or directory (os error 2)",
        ]);
        assert_eq!(
            error_chain(&e),
            "could not read the export profile lims.toml: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn a_transparent_layer_repeating_the_same_text_is_said_once() {
        let e = chain(&[
            "the file name \"nul.csv\" is reserved on Windows",
            "the file name \"nul.csv\" is reserved on Windows",
        ]);
        assert_eq!(
            error_chain(&e),
            "the file name \"nul.csv\" is reserved on Windows"
        );
    }

    #[test]
    fn a_middle_cause_with_a_label_is_kept() {
        // Only the last cause can be a bare label: this one says which file.
        let e = chain(&[
            "could not open the database /mnt/x/stopgap.db",
            "unable to open database file: /mnt/x/stopgap.db",
            "Error code 14: unable to open database file",
        ]);
        assert!(
            error_chain(&e).contains(": unable to open database file: /mnt/x/stopgap.db"),
            "{}",
            error_chain(&e)
        );
    }

    #[test]
    fn a_cause_that_only_labels_what_was_said_is_left_out() {
        let e = chain(&[
            "could not open the database /mnt/x/stopgap.db",
            "unable to open database file: /mnt/x/stopgap.db",
            "Error code 14: unable to open database file",
        ]);
        assert_eq!(
            error_chain(&e),
            "could not open the database /mnt/x/stopgap.db: unable to open database file: \
             /mnt/x/stopgap.db"
        );
    }

    #[test]
    fn a_cause_with_something_new_after_its_label_is_kept() {
        let e = chain(&[
            "database error",
            "Error code 5: The database file is locked",
        ]);
        assert_eq!(
            error_chain(&e),
            "database error: Error code 5: The database file is locked"
        );
    }

    #[test]
    fn a_deeper_cause_is_kept_when_a_middle_one_is_left_out() {
        let e = chain(&[
            "could not write b3.csv: permission denied",
            "permission denied",
            "the folder is read-only",
        ]);
        assert_eq!(
            error_chain(&e),
            "could not write b3.csv: permission denied: the folder is read-only"
        );
    }

    #[test]
    fn an_empty_cause_adds_no_colon() {
        let e = chain(&["could not write b3.csv", ""]);
        assert_eq!(error_chain(&e), "could not write b3.csv");
    }

    #[test]
    fn reports_an_anyhow_context_chain_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(io).context("opening returns.csv");
        assert_eq!(error_chain(&*e), "opening returns.csv: no such file");
    }
}
