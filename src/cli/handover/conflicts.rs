//! `stopgap conflicts` (list, with `--settled` the settled ones too) and `stopgap conflicts
//! settle KEY --decision WORD [--note TEXT]` (recorded under the signed-in account).

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::cli::Outcome;
use crate::domain::settle::Decision;
use crate::domain::text::visible;
use crate::store::{ListedConflict, Side, Store};

/// `stopgap conflicts ...`.
#[derive(Debug, clap::Args)]
pub struct ConflictsArgs {
    #[command(subcommand)]
    pub action: Option<ConflictsAction>,
    /// Also list the conflicts already settled, with who settled each and how.
    #[arg(long)]
    pub settled: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConflictsAction {
    /// Record a decision on one conflict (as a new event, which travels in handover bundles, so
    /// every PC that imports it stops listing the conflict).
    Settle {
        /// The conflict's key as listed (its first 8 characters, unless two conflicts share
        /// them).
        key: String,
        /// One of the decisions listed under the conflict: discard, test, noted, close,
        /// different or same.
        #[arg(long, value_parser = parse_decision)]
        decision: Decision,
        /// What you add: who was told, which forms were checked.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
}

fn parse_decision(s: &str) -> Result<Decision, String> {
    Decision::parse(s).ok_or_else(|| {
        let words: Vec<&str> = Decision::ALL.iter().map(|d| d.word()).collect();
        format!("not a decision: use one of {}", words.join(", "))
    })
}

pub(in crate::cli) fn run(
    store: &mut Store,
    args: ConflictsArgs,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> Result<Outcome> {
    match args.action {
        None => list(store, args.settled, out),
        Some(ConflictsAction::Settle {
            key,
            decision,
            note,
        }) => {
            let user = crate::cli::auth::who(store);
            let done = store.settle_conflict(
                &key,
                decision,
                note.as_deref().unwrap_or_default(),
                &user,
                now,
            )?;
            let on = done.downtime_id.as_ref().map_or_else(
                || format!("request {}", done.request_uuid),
                ToString::to_string,
            );
            writeln!(
                out,
                "Settled conflict {} on {on}: {}. Recorded under {}; it goes in this PC's next \
                 handover bundle.",
                key.trim(),
                decision.label(),
                visible(&user)
            )?;
            if done.settled > 1 {
                writeln!(
                    out,
                    "  {} status changes of this request were settled together.",
                    done.settled
                )?;
            }
            if let Some(new) = &done.reregistered_as {
                writeln!(
                    out,
                    "  {on} is cancelled and its request re-registered as {new}: write {new} on \
                     its paper form and sample bag."
                )?;
            } else if done.cancelled {
                writeln!(out, "  {on} is cancelled (duplicate downtime ID).")?;
            }
            Ok(Outcome::Success)
        }
    }
}

fn list(store: &Store, settled: bool, out: &mut dyn Write) -> Result<Outcome> {
    let all = if settled {
        store.conflicts_with_settled()?
    } else {
        store.conflicts()?
    };
    let open = all.iter().filter(|c| c.is_open()).count();
    if open == 0 {
        writeln!(out, "No conflicts between PCs' records need a person.")?;
    } else {
        writeln!(out, "{open} conflicts need a person:")?;
    }
    for c in all.iter().filter(|c| c.is_open()) {
        conflict(out, c)?;
    }
    if settled {
        let done: Vec<&ListedConflict> = all.iter().filter(|c| !c.is_open()).collect();
        writeln!(out, "{} settled:", done.len())?;
        for c in done {
            conflict(out, c)?;
        }
    }
    Ok(if open == 0 {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}

fn conflict(out: &mut dyn Write, c: &ListedConflict) -> Result<()> {
    let who = c.downtime_id.as_ref().map_or_else(
        || format!("request {}", c.request_uuid),
        ToString::to_string,
    );
    writeln!(out)?;
    writeln!(out, "  [{}] {who}: {}", c.short_key, c.clash.title())?;
    side(out, "this", &c.this)?;
    if let Some(other) = &c.other {
        side(out, "other", other)?;
    }
    writeln!(out, "    {}", visible(&c.text))?;
    match &c.settled {
        None => {
            writeln!(
                out,
                "    Decide: stopgap conflicts settle {} --decision WORD",
                c.short_key
            )?;
            for d in &c.decisions {
                writeln!(out, "      {:<10} {}", d.word(), d.label())?;
            }
        }
        Some(by) => {
            let note = if by.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", visible(&by.note))
            };
            writeln!(
                out,
                "    SETTLED on {} by {} at {}: {}{note}",
                by.workstation,
                visible(&by.user),
                by.at.format("%Y-%m-%d %H:%M UTC"),
                by.decision.label()
            )?;
            for o in &c.overruled {
                writeln!(
                    out,
                    "    also settled on {} by {} at {}: {} (does not count: the first counts)",
                    o.workstation,
                    visible(&o.user),
                    o.at.format("%Y-%m-%d %H:%M UTC"),
                    o.decision.label()
                )?;
            }
        }
    }
    Ok(())
}

fn side(out: &mut dyn Write, name: &str, s: &Side) -> Result<()> {
    writeln!(
        out,
        "    {name:<5}  {} on {} by {} at {}",
        visible(&s.what),
        s.workstation,
        visible(&s.user),
        s.at.format("%Y-%m-%d %H:%M:%S UTC")
    )?;
    if let Some(request) = &s.request {
        writeln!(out, "           {}", visible(request))?;
    }
    Ok(())
}
