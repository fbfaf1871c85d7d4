//! The layering rules of ARCHITECTURE.md, checked by reading the source tree.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// Source lines outside `#[cfg(test)]` modules (tests may use anything), without comments.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let code = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text,
    };
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn offenders(dirs: &[&str], needle: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for d in dirs {
        let target = root.join(d);
        let files = if target.is_dir() {
            rust_files(&target)
        } else {
            vec![target]
        };
        for f in files {
            if code_of(&f).contains(needle) {
                found.push(format!("{} uses {needle}", f.display()));
            }
        }
    }
    found
}

#[test]
fn domain_store_and_library_code_never_use_egui() {
    let layers = [
        "domain",
        "store",
        "export",
        "report",
        "backlog.rs",
        "files",
        "import.rs",
        "demo.rs",
        "platform",
        "cli.rs",
        "cli",
    ];
    for needle in ["egui", "eframe"] {
        let found = offenders(&layers, needle);
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn only_the_store_touches_sqlite() {
    let others = [
        "domain",
        "export",
        "report",
        "backlog.rs",
        "files",
        "import.rs",
        "ui",
        "demo.rs",
        "platform",
        "cli.rs",
        "cli",
        "main.rs",
        "lib.rs",
    ];
    let found = offenders(&others, "rusqlite");
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn only_the_shell_reads_the_clock() {
    let pure = [
        "domain",
        "store",
        "export",
        "report",
        "backlog.rs",
        "files",
        "import.rs",
        "demo.rs",
        "platform",
        "cli.rs",
        "cli",
    ];
    for needle in ["Utc::now", "Local::now", "SystemTime::now", "Instant::now"] {
        let found = offenders(&pure, needle);
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn the_checker_finds_what_it_looks_for() {
    // Guards the guard: the same scan does find egui in the UI layer and rusqlite in the store.
    assert!(!offenders(&["ui"], "egui").is_empty());
    assert!(!offenders(&["store"], "rusqlite").is_empty());
}
