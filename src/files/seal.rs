//! Files that leave the PC (exports, close-out reports, handover bundles) encrypted with age
//! (<https://age-encryption.org>), so a file left on a USB stick or a shared folder is useless
//! without the lab's private key or the passphrase.
//!
//! [`Sealing`] says how a file is written: to the lab's public keys (`age1…`), to a passphrase,
//! or in plain text, which only [`Sealing::plaintext_confirmed`] makes, the call behind an
//! explicit confirmation (`--plaintext`, the "Write unencrypted" box). [`Sealing::seal`] sits
//! between a content writer and the file: the writer's bytes are encrypted in memory, 64 KiB at a
//! time, so the plain text never reaches the disk, and the SHA-256 the atomic writer takes is of
//! the encrypted file as written.
//!
//! A passphrase is stretched with scrypt at age's own work factor, chosen on each PC to take
//! about one second there (measured on this project's busy 2-core build machine: 2^15, and a
//! 20-request CSV export took 0.9 s with a passphrase against 0.02 s unencrypted); the LIMS
//! team's `age -d` does the same work once per file.
//!
//! [`Unsealing`] is the other side, for files read back in (an encrypted handover bundle): a
//! passphrase or the identities of an age identity file.

use std::io::{self, Write};
use std::path::Path;

pub use age::secrecy::{ExposeSecret, SecretString};
pub use age::x25519::Recipient;

/// What an encrypted file's name ends with (after its own extension: `batch.csv.age`).
pub const AGE_SUFFIX: &str = ".age";

/// The fewest characters an encryption passphrase may have: the same floor as a password.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

/// The largest age identity file read (a key file is one line of 74 characters).
const IDENTITY_MAX_BYTES: u64 = 64 * 1024;

/// Why a sealing could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "'{text}' is not an age public key ({reason}): the lab's key is one line beginning \
         age1, as `age-keygen -y lab-key.txt` prints it"
    )]
    BadRecipient { text: String, reason: &'static str },
    #[error(
        "the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters, and give \
         it to the lab by another way than the file (telephone, not e-mail)"
    )]
    ShortPassphrase,
    #[error("no age public key was given: give the lab's key (age1…)")]
    NoRecipients,
}

/// How a file leaving the PC is written.
#[derive(Debug, Clone)]
pub enum Sealing {
    /// Encrypted to a passphrase (age's scrypt recipient).
    Passphrase(Passphrase),
    /// Encrypted to these public keys: any one of their private keys opens the file.
    Recipients(Vec<Recipient>),
    /// Not encrypted: only [`Sealing::plaintext_confirmed`] makes this.
    Plaintext(PlaintextConfirmed),
}

/// A passphrase to encrypt to, and its scrypt work factor.
#[derive(Clone)]
pub struct Passphrase {
    secret: SecretString,
    /// `log2(N)`; `None` is age's own choice for this PC (about a second).
    work_factor: Option<u8>,
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase([hidden])")
    }
}

/// The proof that someone confirmed writing patient data unencrypted: it has no public
/// constructor but [`Sealing::plaintext_confirmed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaintextConfirmed(());

/// How a file was written, as recorded with it (stable words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sealed {
    AgeRecipient,
    AgePassphrase,
    Plaintext,
}

impl Sealed {
    /// As the audit and the batch list say it.
    pub fn label(self) -> &'static str {
        match self {
            Sealed::AgeRecipient => "age recipient",
            Sealed::AgePassphrase => "age passphrase",
            Sealed::Plaintext => "plaintext",
        }
    }
}

/// Why sealing failed while writing: the content writer's own error, or the encryption's
/// writes to the file.
#[derive(Debug)]
pub enum SealFailure<E> {
    Content(E),
    Io(io::Error),
}

/// Parses an age public key (`age1…`), saying plainly when it is not one.
pub fn parse_recipient(text: &str) -> Result<Recipient, SealError> {
    let t = text.trim();
    t.parse::<Recipient>().map_err(|reason| {
        // A private key pasted by mistake is never repeated into a message or a log.
        if t.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
            SealError::BadRecipient {
                text: "AGE-SECRET-KEY-…".to_owned(),
                reason: "that is a private key: give the public key, and keep the private key \
                         secret",
            }
        } else {
            SealError::BadRecipient {
                text: t.chars().take(80).collect(),
                reason,
            }
        }
    })
}

impl Sealing {
    /// Encrypts to `secret`, at age's work factor for this PC.
    pub fn passphrase(secret: SecretString) -> Result<Self, SealError> {
        if secret.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(SealError::ShortPassphrase);
        }
        Ok(Sealing::Passphrase(Passphrase {
            secret,
            work_factor: None,
        }))
    }

    /// A passphrase at scrypt work factor 2^2, so tests take no seconds per file. Never for
    /// real files: such a passphrase is guessed a million times faster.
    #[doc(hidden)]
    pub fn weak_passphrase_for_tests(secret: &str) -> Self {
        Sealing::Passphrase(Passphrase {
            secret: SecretString::from(secret),
            work_factor: Some(2),
        })
    }

    /// Encrypts to `recipients` (at least one).
    pub fn recipients(recipients: Vec<Recipient>) -> Result<Self, SealError> {
        if recipients.is_empty() {
            return Err(SealError::NoRecipients);
        }
        Ok(Sealing::Recipients(recipients))
    }

    /// Writes in plain text. Call it only where a person has just confirmed it.
    pub fn plaintext_confirmed() -> Self {
        Sealing::Plaintext(PlaintextConfirmed(()))
    }

    pub fn kind(&self) -> Sealed {
        match self {
            Sealing::Passphrase(_) => Sealed::AgePassphrase,
            Sealing::Recipients(_) => Sealed::AgeRecipient,
            Sealing::Plaintext(_) => Sealed::Plaintext,
        }
    }

    pub fn is_encrypted(&self) -> bool {
        self.kind() != Sealed::Plaintext
    }

    /// `name` as the file is called: `.age` appended when encrypted (unless already there).
    pub fn file_name(&self, name: &str) -> String {
        if self.is_encrypted() && !name.ends_with(AGE_SUFFIX) {
            format!("{name}{AGE_SUFFIX}")
        } else {
            name.to_owned()
        }
    }

    /// One line for the user: how the file is written.
    pub fn describe(&self) -> String {
        match self {
            Sealing::Passphrase(_) => "encrypted with age to a passphrase".to_owned(),
            Sealing::Recipients(r) => {
                let keys: Vec<String> = r.iter().map(|k| short_key(&k.to_string())).collect();
                format!("encrypted with age for {}", keys.join(", "))
            }
            Sealing::Plaintext(_) => "NOT encrypted (confirmed)".to_owned(),
        }
    }

    /// Runs `fill` with a writer whose bytes reach `out` sealed. Encrypted, the stream is
    /// finished (its last chunk written) only when `fill` succeeds, so a failed fill leaves a
    /// file no one can open, which the atomic writer then removes.
    pub fn seal<E>(
        &self,
        out: &mut dyn Write,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<(), SealFailure<E>> {
        let encryptor = match self {
            Sealing::Plaintext(_) => return fill(out).map_err(SealFailure::Content),
            Sealing::Recipients(keys) => {
                age::Encryptor::with_recipients(keys.iter().map(|k| k as &dyn age::Recipient))
            }
            Sealing::Passphrase(p) => {
                let mut r = age::scrypt::Recipient::new(p.secret.clone());
                if let Some(log_n) = p.work_factor {
                    r.set_work_factor(log_n);
                }
                age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
            }
        }
        .map_err(|e| SealFailure::Io(io::Error::other(e)))?;
        let mut sealed = encryptor.wrap_output(out).map_err(SealFailure::Io)?;
        fill(&mut sealed).map_err(SealFailure::Content)?;
        sealed.finish().map_err(SealFailure::Io)?;
        Ok(())
    }
}

/// `age1abcdefgh…wxyz`: enough to check against the lab's key by eye.
fn short_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 16 {
        return key.to_owned();
    }
    let head: String = chars[..12].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Whether `bytes` begin like an age file (binary or ASCII-armoured).
pub fn is_age(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/") || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE")
}

/// How an encrypted file read in is opened.
pub enum Unsealing {
    Passphrase(SecretString),
    /// From an age identity file (`AGE-SECRET-KEY-1…` lines).
    Identities(Vec<Box<dyn age::Identity + Send + Sync>>),
}

impl std::fmt::Debug for Unsealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsealing::Passphrase(_) => f.write_str("Unsealing::Passphrase([hidden])"),
            Unsealing::Identities(i) => write!(f, "Unsealing::Identities({} keys)", i.len()),
        }
    }
}

/// Why an encrypted file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    #[error("could not read the age identity file")]
    IdentityFile(#[source] super::ReadError),
    #[error("{path} is not an age identity file: give the file age-keygen wrote")]
    BadIdentityFile {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the file is encrypted with age: give the identity file (--identity) or the passphrase \
         it was encrypted with"
    )]
    KeyNeeded,
    #[error(
        "the file is encrypted to a public key, not a passphrase: give the matching identity \
         file (--identity)"
    )]
    NotAPassphraseFile,
    #[error(
        "the file is encrypted to a passphrase, not a key: give the passphrase instead of an \
         identity file"
    )]
    PassphraseFile,
    #[error(
        "the passphrase or identity given does not open this file: check which one it was \
         encrypted with"
    )]
    WrongKey,
    #[error("the encrypted file is damaged or not an age file: copy it again from the sender")]
    Damaged(#[source] age::DecryptError),
}

impl Unsealing {
    /// The identities of the age identity file at `path` (size-limited, as every file read in).
    pub fn identity_file(path: &Path) -> Result<Self, UnsealError> {
        let bytes = super::read_limited(path, IDENTITY_MAX_BYTES, "an age identity file")
            .map_err(UnsealError::IdentityFile)?;
        let bad = |source| UnsealError::BadIdentityFile {
            path: path.to_owned(),
            source,
        };
        let file = age::IdentityFile::from_buffer(bytes.as_slice()).map_err(bad)?;
        let identities = file
            .into_identities()
            .map_err(|e| bad(io::Error::other(e)))?;
        if identities.is_empty() {
            return Err(bad(io::Error::other("it holds no AGE-SECRET-KEY line")));
        }
        Ok(Unsealing::Identities(identities))
    }

    /// A reader of the plain text of the age file `sealed`.
    pub fn open<'a>(&self, sealed: &'a [u8]) -> Result<impl io::Read + 'a, UnsealError> {
        let decryptor = age::Decryptor::new_buffered(sealed).map_err(UnsealError::Damaged)?;
        let reader = match self {
            Unsealing::Passphrase(secret) => {
                if !decryptor.is_scrypt() {
                    return Err(UnsealError::NotAPassphraseFile);
                }
                let identity = age::scrypt::Identity::new(secret.clone());
                decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity))
            }
            Unsealing::Identities(ids) => {
                if decryptor.is_scrypt() {
                    return Err(UnsealError::PassphraseFile);
                }
                decryptor.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
            }
        };
        reader.map_err(|e| match e {
            age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
                UnsealError::WrongKey
            }
            other => UnsealError::Damaged(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sealed_with(s: &Sealing, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        s.seal(&mut out, |w| w.write_all(text))
            .map_err(|_| ())
            .unwrap();
        out
    }

    #[test]
    fn a_bad_recipient_is_refused_with_what_a_key_looks_like() {
        let e = parse_recipient("age1notakey").unwrap_err();
        assert!(e.to_string().contains("begins age1") || e.to_string().contains("beginning age1"));
        let secret = age::x25519::Identity::generate();
        let e = parse_recipient(secret.to_string().expose_secret()).unwrap_err();
        assert!(e.to_string().contains("private key"), "{e}");
        assert!(!e.to_string().contains("AGE-SECRET-KEY-1"), "{e}");
    }

    #[test]
    fn a_passphrase_file_opens_only_with_its_passphrase() {
        let s = Sealing::weak_passphrase_for_tests("correct horse battery");
        let file = sealed_with(&s, b"RXX W07 000001");
        assert!(is_age(&file));
        let mut text = Vec::new();
        Unsealing::Passphrase("correct horse battery".into())
            .open(&file)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        assert_eq!(text, b"RXX W07 000001");
        let wrong = Unsealing::Passphrase("wrong horse battery".into()).open(&file);
        assert!(matches!(wrong, Err(UnsealError::WrongKey)));
    }

    #[test]
    fn a_short_passphrase_and_no_recipients_are_refused() {
        assert!(matches!(
            Sealing::passphrase("short".into()),
            Err(SealError::ShortPassphrase)
        ));
        assert!(matches!(
            Sealing::recipients(Vec::new()),
            Err(SealError::NoRecipients)
        ));
    }

    #[test]
    fn an_encrypted_name_ends_age_once() {
        let key = age::x25519::Identity::generate().to_public();
        let s = Sealing::recipients(vec![key]).unwrap();
        assert_eq!(s.file_name("b.csv"), "b.csv.age");
        assert_eq!(s.file_name("b.csv.age"), "b.csv.age");
        assert_eq!(Sealing::plaintext_confirmed().file_name("b.csv"), "b.csv");
    }
}
