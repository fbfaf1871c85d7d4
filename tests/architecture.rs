//! The layering rules of ARCHITECTURE.md, checked by reading every file of the source tree.
//!
//! Modules are found from the tree, not from a hand list: every top-level entry of `src/` must be
//! classified in [`SRC_ENTRIES`], so a new module is covered as soon as it exists. Whole files are
//! read, tests included (a test inside a file obeys the file's layering); only lines whose trimmed
//! start is `//` (comments and doc comments) are skipped.

use std::path::{Path, PathBuf};

/// Where a top-level entry of `src/` sits in the layering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    /// `src/ui`: the egui app.
    Ui,
    /// `src/main.rs`: the binary reads the clock and starts the app or a command.
    Binary,
    /// `src/lib.rs`: the module list and the crate doc.
    CrateRoot,
    /// `src/cli.rs` and `src/cli/`: the command line; it is handed the clock by the binary.
    Cli,
    /// `src/store`: the only code that touches SQLite.
    Store,
    /// `src/domain`: pure rules, no I/O and no persistence.
    Domain,
    /// `src/export`: pure writers; they are given request states, never the store.
    Export,
    /// Library code over domain and store: backlog, files, import, demo, report, error.
    Library,
    /// `src/platform`: what differs by operating system.
    Platform,
}

/// Every top-level entry of `src/`, by its exact name (a folder without a slash).
const SRC_ENTRIES: &[(&str, Layer)] = &[
    ("ui", Layer::Ui),
    ("main.rs", Layer::Binary),
    ("lib.rs", Layer::CrateRoot),
    ("cli.rs", Layer::Cli),
    ("cli", Layer::Cli),
    ("store", Layer::Store),
    ("domain", Layer::Domain),
    ("export", Layer::Export),
    ("backlog.rs", Layer::Library),
    ("backlog", Layer::Library),
    ("files", Layer::Library),
    ("import.rs", Layer::Library),
    ("demo", Layer::Library),
    ("report", Layer::Library),
    ("error.rs", Layer::Library),
    ("fuzzing.rs", Layer::Library),
    ("handover", Layer::Library),
    ("platform", Layer::Platform),
];

/// Which layers a rule's needles are checked in.
#[derive(Clone, Copy, Debug)]
enum Scope {
    /// The needles may appear in these layers and nowhere else.
    OnlyIn(&'static [Layer]),
    /// The needles must not appear in these layers.
    NeverIn(&'static [Layer]),
}

impl Scope {
    fn refuses(self, layer: Layer) -> bool {
        match self {
            Scope::OnlyIn(layers) => !layers.contains(&layer),
            Scope::NeverIn(layers) => layers.contains(&layer),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Rule {
    /// The invariant, as said in a failure message.
    says: &'static str,
    needles: &'static [&'static str],
    scope: Scope,
}

const EGUI_ONLY_IN_THE_UI: Rule = Rule {
    says: "egui and eframe are used only in src/ui",
    needles: &["egui", "eframe"],
    scope: Scope::OnlyIn(&[Layer::Ui]),
};

const SQLITE_ONLY_IN_THE_STORE: Rule = Rule {
    says: "only src/store touches SQLite",
    needles: &["rusqlite"],
    scope: Scope::OnlyIn(&[Layer::Store]),
};

const UI_ONLY_FROM_THE_UI_AND_THE_BINARY: Rule = Rule {
    says: "nothing below the UI uses it; only src/ui and src/main.rs (which starts the app) do",
    needles: &["crate::ui", "super::ui", "stopgap::ui"],
    scope: Scope::OnlyIn(&[Layer::Ui, Layer::Binary]),
};

const CLOCK_ONLY_IN_THE_SHELL: Rule = Rule {
    says: "the clock is a parameter: only src/ui, src/cli* and src/main.rs read it",
    needles: &["Utc::now", "Local::now", "SystemTime::now", "Instant::now"],
    scope: Scope::OnlyIn(&[Layer::Ui, Layer::Cli, Layer::Binary]),
};

const DOMAIN_IS_PURE: Rule = Rule {
    says: "domain is pure: no store, no export, no files, no network",
    needles: &[
        "crate::store",
        "super::store",
        "crate::export",
        "super::export",
        "std::fs",
        "std::net",
    ],
    scope: Scope::NeverIn(&[Layer::Domain]),
};

const EXPORT_NEVER_USES_THE_STORE: Rule = Rule {
    says: "export writers are given request states and never use the store",
    needles: &["crate::store", "super::store"],
    scope: Scope::NeverIn(&[Layer::Export]),
};

const RULES: &[Rule] = &[
    EGUI_ONLY_IN_THE_UI,
    SQLITE_ONLY_IN_THE_STORE,
    UI_ONLY_FROM_THE_UI_AND_THE_BINARY,
    CLOCK_ONLY_IN_THE_SHELL,
    DOMAIN_IS_PURE,
    EXPORT_NEVER_USES_THE_STORE,
];

/// A file under `src/` over this many lines is to be split.
const MAX_LINES: usize = 600;

fn src_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn classify(entry: &str) -> Option<Layer> {
    SRC_ENTRIES
        .iter()
        .find(|(name, _)| *name == entry)
        .map(|(_, layer)| *layer)
}

/// Every file below `dir`, sorted so that failure lists read the same on every run.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level entries of `src`, each with its layer, or one complaint per unclassified entry
/// and per table row that names nothing.
fn classified_entries(src: &Path) -> Result<Vec<(PathBuf, Layer)>, Vec<String>> {
    let mut complaints = Vec::new();
    let mut entries = Vec::new();
    let mut names = Vec::new();
    let listing = std::fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
    for entry in listing {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", src.display()))
            .path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match classify(&name) {
            Some(layer) => entries.push((path, layer)),
            None => complaints.push(format!("classify src/{name} in tests/architecture.rs")),
        }
        names.push(name);
    }
    for (name, _) in SRC_ENTRIES {
        if !names.iter().any(|n| n == name) {
            complaints.push(format!(
                "tests/architecture.rs classifies src/{name}, which does not exist: remove it"
            ));
        }
    }
    complaints.sort();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if complaints.is_empty() {
        Ok(entries)
    } else {
        Err(complaints)
    }
}

/// Every Rust file of `src` with its layer.
fn rust_files(src: &Path) -> Vec<(PathBuf, Layer)> {
    let entries = classified_entries(src).unwrap_or_else(|complaints| panic!("{complaints:#?}"));
    let mut out = Vec::new();
    for (path, layer) in entries {
        let files = if path.is_dir() {
            files_under(&path)
        } else {
            vec![path]
        };
        out.extend(
            files
                .into_iter()
                .filter(|f| f.extension().is_some_and(|x| x == "rs"))
                .map(|f| (f, layer)),
        );
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offsets where `needle` starts a word (so `Utc::now` is not found in `MyUtc::now`).
fn word_starts(text: &str, needle: &str) -> Vec<usize> {
    text.match_indices(needle)
        .filter(|(i, _)| !text[..*i].chars().next_back().is_some_and(is_ident_char))
        .map(|(i, _)| i)
        .collect()
}

/// The paths a `use` group stands for: `crate::{store::Store, ui}` gives `crate::store::Store`
/// and `crate::ui`, so a group hides nothing from a rule. Nested groups are expanded too.
fn expand_groups(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (open, _) in text.match_indices("::{") {
        let prefix_start = text[..open]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_ident_char(*c) || *c == ':')
            .last()
            .map_or(open, |(i, _)| i);
        let prefix = &text[prefix_start..open];
        let body_start = open + "::{".len();
        let mut depth = 1;
        let mut item_start = body_start;
        let mut items = Vec::new();
        for (i, c) in text[body_start..].char_indices() {
            let at = body_start + i;
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        items.push(&text[item_start..at]);
                        break;
                    }
                }
                ',' if depth == 1 => {
                    items.push(&text[item_start..at]);
                    item_start = at + 1;
                }
                _ => {}
            }
        }
        for item in items {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let path = format!("{prefix}::{item}");
            out.extend(expand_groups(&path).into_iter().map(|(_, p)| (open, p)));
            out.push((open, path));
        }
    }
    out
}

/// Where in one file's text a rule is broken, as `path:line uses needle (rule)`.
fn violations(rule: &Rule, layer: Layer, path: &str, text: &str) -> Vec<String> {
    if !rule.scope.refuses(layer) {
        return Vec::new();
    }
    // Comment lines are blanked rather than dropped so that offsets still give line numbers.
    let code: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    let groups = expand_groups(&code);
    let mut found = Vec::new();
    for needle in rule.needles {
        let mut lines: Vec<usize> = word_starts(&code, needle)
            .into_iter()
            .map(line_of)
            .collect();
        for (at, expanded) in &groups {
            if !word_starts(expanded, needle).is_empty() {
                lines.push(line_of(*at));
            }
        }
        lines.sort_unstable();
        lines.dedup();
        found.extend(
            lines
                .into_iter()
                .map(|line| format!("{path}:{line} uses {needle} ({})", rule.says)),
        );
    }
    found
}

/// Every place in the tree at `src` where `rule` is broken.
fn tree_violations(rule: &Rule, src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (file, layer) in rust_files(src) {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let shown = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .display()
            .to_string();
        found.extend(violations(rule, layer, &format!("src/{shown}"), &text));
    }
    found
}

/// Every file under `src` (of any kind) over [`MAX_LINES`] lines, with its count.
fn oversized(src: &Path) -> Vec<String> {
    files_under(src)
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(&file).ok()?;
            let lines = text.lines().count();
            let shown = file
                .strip_prefix(src)
                .unwrap_or(&file)
                .display()
                .to_string();
            (lines > MAX_LINES).then(|| format!("src/{shown}: {lines} lines"))
        })
        .collect()
}

fn assert_rule_holds(rule: &Rule) {
    let found = tree_violations(rule, &src_root());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_src_entry_is_classified_in_one_table() {
    if let Err(complaints) = classified_entries(&src_root()) {
        panic!("{complaints:#?}");
    }
}

#[test]
fn egui_and_eframe_are_used_only_in_the_ui() {
    assert_rule_holds(&EGUI_ONLY_IN_THE_UI);
}

#[test]
fn only_the_store_touches_sqlite() {
    assert_rule_holds(&SQLITE_ONLY_IN_THE_STORE);
}

#[test]
fn nothing_below_the_ui_uses_the_ui() {
    assert_rule_holds(&UI_ONLY_FROM_THE_UI_AND_THE_BINARY);
}

#[test]
fn only_the_shell_reads_the_clock() {
    assert_rule_holds(&CLOCK_ONLY_IN_THE_SHELL);
}

#[test]
fn domain_uses_neither_store_nor_export_nor_files_nor_network() {
    assert_rule_holds(&DOMAIN_IS_PURE);
}

#[test]
fn export_writers_never_use_the_store() {
    assert_rule_holds(&EXPORT_NEVER_USES_THE_STORE);
}

#[test]
fn no_source_file_is_over_600_lines() {
    let found = oversized(&src_root());
    assert!(
        found.is_empty(),
        "split these files (at most {MAX_LINES} lines each): {found:#?}"
    );
}

/// Test files directly under `tests/` each become a test binary of their own, linked against
/// egui and SQLite (tens of MB each, and a link each on a 2-core CI machine): new tests join a
/// group (`tests/ui/`, `tests/export/`, `tests/store/`), so the group count stays small.
const TEST_BINARIES: &[&str] = &["architecture.rs", "export", "store", "ui"];

fn stray_test_binaries(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|name| {
            name.ends_with(".rs") || !["common", "fixtures", "golden"].contains(&name.as_str())
        })
        .filter(|name| !TEST_BINARIES.contains(&name.as_str()))
        .map(|name| {
            format!("tests/{name} makes a test binary of its own: move it into a group folder")
        })
        .collect()
}

#[test]
fn tests_live_in_a_few_group_binaries() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut names: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs") || tests.join(name).is_dir())
        .collect();
    names.sort();
    assert_eq!(stray_test_binaries(&names), Vec::<String>::new());
    let planted = [
        "store".to_owned(),
        "new_test.rs".to_owned(),
        "extra".to_owned(),
    ];
    assert_eq!(
        stray_test_binaries(&planted),
        [
            "tests/new_test.rs makes a test binary of its own: move it into a group folder",
            "tests/extra makes a test binary of its own: move it into a group folder",
        ]
    );
}

/// Every `file::function` the hazard log names as proof of a control, that does not exist as a
/// function in that file (under `tests/`, or under `src/` when the path starts with `src/`).
fn missing_hazard_tests(log: &str, read: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for quoted in log.split('`').skip(1).step_by(2) {
        let Some((file, function)) = quoted.rsplit_once("::") else {
            continue;
        };
        if !file.ends_with(".rs") {
            continue;
        }
        let path = if file.starts_with("src/") {
            file.to_owned()
        } else {
            format!("tests/{file}")
        };
        let found = read(&path).is_some_and(|text| text.contains(&format!("fn {function}(")));
        if !found {
            missing.push(format!("{path}::{function}"));
        }
    }
    missing
}

#[test]
fn the_hazard_log_names_only_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let log = std::fs::read_to_string(root.join("docs/hazard-log.md")).unwrap();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).ok();
    assert_eq!(missing_hazard_tests(&log, read), Vec::<String>::new());
    assert!(log.matches(".rs::").count() > 30, "the log names its tests");
    let planted = "`store/open.rs::no_such_test` and `nowhere.rs::x`";
    assert_eq!(
        missing_hazard_tests(planted, read),
        ["tests/store/open.rs::no_such_test", "tests/nowhere.rs::x"]
    );
}

// The guards below prove that each check can fail, so a passing run means something.

/// A layer each rule refuses, to plant its needles in.
fn a_refused_layer(rule: &Rule) -> Layer {
    SRC_ENTRIES
        .iter()
        .map(|(_, layer)| *layer)
        .find(|layer| rule.scope.refuses(*layer))
        .unwrap_or_else(|| panic!("{} refuses no layer", rule.says))
}

#[test]
fn every_rule_finds_each_of_its_needles_where_refused_and_not_where_allowed() {
    for rule in RULES {
        let refused = a_refused_layer(rule);
        for needle in rule.needles {
            let text = format!("fn f() {{\n    let _ = {needle}::x();\n}}\n");
            let found = violations(rule, refused, "src/x.rs", &text);
            assert_eq!(
                found,
                [format!("src/x.rs:2 uses {needle} ({})", rule.says)],
                "{needle} in {refused:?}"
            );
            for (_, layer) in SRC_ENTRIES.iter().filter(|(_, l)| !rule.scope.refuses(*l)) {
                assert!(violations(rule, *layer, "src/x.rs", &text).is_empty());
            }
        }
    }
}

#[test]
fn the_checker_reads_tests_inside_a_file_and_skips_only_comment_lines() {
    let text = "\
//! The crate doc may say rusqlite.
/// So may an item's doc: rusqlite.
pub fn pure() {}

#[cfg(test)]
mod tests {
    // Nor does a comment count: rusqlite.
    use rusqlite::Connection;
}
";
    let found = violations(&SQLITE_ONLY_IN_THE_STORE, Layer::Domain, "src/d.rs", text);
    assert_eq!(
        found,
        [format!(
            "src/d.rs:8 uses rusqlite ({})",
            SQLITE_ONLY_IN_THE_STORE.says
        )]
    );
}

#[test]
fn the_checker_sees_through_use_groups_and_word_boundaries() {
    let grouped =
        "use crate::{\n    domain::Patient,\n    store::{Store, rows},\n};\nuse std::{fs, io};\n";
    let found = violations(&DOMAIN_IS_PURE, Layer::Domain, "src/d.rs", grouped);
    let says = DOMAIN_IS_PURE.says;
    assert_eq!(
        found,
        [
            format!("src/d.rs:1 uses crate::store ({says})"),
            format!("src/d.rs:5 uses std::fs ({says})"),
        ]
    );
    let lookalike = "fn f() { MyUtc::now(); my_eframe(); }\n";
    assert!(
        violations(
            &CLOCK_ONLY_IN_THE_SHELL,
            Layer::Store,
            "src/s.rs",
            lookalike
        )
        .is_empty()
    );
    assert!(violations(&EGUI_ONLY_IN_THE_UI, Layer::Store, "src/s.rs", lookalike).is_empty());
}

#[test]
fn the_checker_finds_what_it_looks_for_in_the_real_tree() {
    // The same scan, with the rules turned round, finds egui in the UI, SQLite in the store and
    // the clock in the binary: the tree is really read.
    fn has(needles: &'static [&'static str], prefix: &str) -> bool {
        let probe = Rule {
            says: "probe",
            needles,
            scope: Scope::NeverIn(&[
                Layer::Ui,
                Layer::Binary,
                Layer::Store,
                Layer::Cli,
                Layer::CrateRoot,
            ]),
        };
        tree_violations(&probe, &src_root())
            .iter()
            .any(|v| v.starts_with(prefix))
    }
    assert!(has(&["egui"], "src/ui/"));
    assert!(has(&["rusqlite"], "src/store/"));
    assert!(has(&["Utc::now"], "src/main.rs"));
    assert!(has(&["stopgap::ui"], "src/main.rs"));
}

#[test]
fn an_unclassified_entry_and_an_oversized_file_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    for (name, _) in SRC_ENTRIES {
        if name.ends_with(".rs") {
            std::fs::write(src.join(name), "").unwrap();
        } else {
            std::fs::create_dir(src.join(name)).unwrap();
        }
    }
    std::fs::write(src.join("xyz.rs"), "").unwrap();
    std::fs::write(
        src.join("domain").join("long.rs"),
        "\n".repeat(MAX_LINES + 1),
    )
    .unwrap();
    std::fs::write(src.join("domain").join("full.rs"), "\n".repeat(MAX_LINES)).unwrap();
    assert_eq!(
        classified_entries(src).unwrap_err(),
        ["classify src/xyz.rs in tests/architecture.rs"]
    );
    assert_eq!(
        oversized(src),
        [format!("src/domain/long.rs: {} lines", MAX_LINES + 1)]
    );
    std::fs::remove_file(src.join("xyz.rs")).unwrap();
    std::fs::remove_dir_all(src.join("report")).unwrap();
    assert_eq!(
        classified_entries(src).unwrap_err(),
        ["tests/architecture.rs classifies src/report, which does not exist: remove it"]
    );
}
