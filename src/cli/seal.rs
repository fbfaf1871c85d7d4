//! How a file that leaves the PC is written, as the command line chooses it: `--recipient age1…`
//! (repeatable; default: the export profile's `age_recipient`), `--passphrase` (typed at a
//! prompt without echo, or from `STOPGAP_EXPORT_PASSPHRASE` for automation) or `--plaintext`,
//! the explicit confirmation. With none of them, and no key in the profile, the command refuses.
//! Reading an encrypted handover bundle: `--identity FILE` or the passphrase.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::files::{ExposeSecret, Recipient, Sealing, SecretString, Unsealing, parse_recipient};

/// The environment variable a script sets instead of typing the passphrase.
pub const PASSPHRASE_ENV: &str = "STOPGAP_EXPORT_PASSPHRASE";

/// `--recipient`, `--passphrase`, `--plaintext`: how the file is written.
#[derive(Debug, Clone, clap::Args)]
pub struct SealArgs {
    /// Encrypt the file with age for this public key (age1…, the lab's; repeat for several).
    /// Default: the export profile's age_recipient.
    #[arg(long = "recipient", value_name = "AGE1…", value_parser = parse_recipient_arg)]
    pub recipients: Vec<Recipient>,
    /// Encrypt the file with age to a passphrase, typed at a prompt (not shown), or taken from
    /// the environment variable STOPGAP_EXPORT_PASSPHRASE. Give it to the lab by telephone.
    #[arg(long, conflicts_with = "recipients")]
    pub passphrase: bool,
    /// Write the file unencrypted: confirms that patient data leaves this PC readable by anyone
    /// who finds the file.
    #[arg(long, conflicts_with_all = ["recipients", "passphrase"])]
    pub plaintext: bool,
}

fn parse_recipient_arg(s: &str) -> Result<Recipient, String> {
    parse_recipient(s).map_err(|e| e.to_string())
}

impl SealArgs {
    /// The sealing chosen, else the profile's key (`default`), else a refusal naming the
    /// three choices. `what` names the file in messages ("the export", "the report").
    pub fn sealing(&self, default: Option<Recipient>, what: &str) -> Result<Sealing> {
        if self.plaintext {
            return Ok(Sealing::plaintext_confirmed());
        }
        if self.passphrase {
            return Ok(Sealing::passphrase(read_passphrase(true)?)?);
        }
        let recipients = if self.recipients.is_empty() {
            default.into_iter().collect()
        } else {
            self.recipients.clone()
        };
        if recipients.is_empty() {
            bail!(
                "{what} holds patient data and leaves this PC, so say how to write it: \
                 --recipient age1… (the lab's public key; or set age_recipient in the export \
                 profile), --passphrase (typed, or from {PASSPHRASE_ENV}), or --plaintext to \
                 confirm writing it unencrypted; nothing was written"
            );
        }
        Ok(Sealing::recipients(recipients)?)
    }
}

/// The passphrase from [`PASSPHRASE_ENV`], else typed at the terminal without echo (twice when
/// `confirm`, so a typing slip never makes a file nobody can open).
pub fn read_passphrase(confirm: bool) -> Result<SecretString> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(SecretString::from(p));
    }
    let typed = SecretString::from(
        rpassword::prompt_password("Passphrase: ").with_context(|| {
            format!("could not read the passphrase from the terminal: type it there, or set {PASSPHRASE_ENV}")
        })?,
    );
    if confirm {
        let again = SecretString::from(
            rpassword::prompt_password("The same passphrase again: ")
                .context("could not read the passphrase from the terminal")?,
        );
        if again.expose_secret() != typed.expose_secret() {
            bail!("the two passphrases differ: nothing was written; try again");
        }
    }
    Ok(typed)
}

/// How the encrypted ones among `files` are opened: the identity file, else (only if one of
/// them is encrypted) the passphrase.
pub fn unsealing(identity: Option<&Path>, files: &[PathBuf]) -> Result<Option<Unsealing>> {
    if let Some(path) = identity {
        return Ok(Some(Unsealing::identity_file(path)?));
    }
    if files
        .iter()
        .any(|f| crate::handover::is_sealed_file(f.as_path()))
    {
        return Ok(Some(Unsealing::Passphrase(read_passphrase(false)?)));
    }
    Ok(None)
}
