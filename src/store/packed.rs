//! Event payloads as stored: the event's JSON compressed with zstd against a fixed dictionary.
//!
//! A request's creation event is mostly the tests it asked for, each a copy of its catalogue
//! entry (name, specimen, tube, colour, volume), so every creation repeats the same few hundred
//! bytes. Compressed against a dictionary that already holds the default catalogue's entries
//! and the JSON's keys, a creation takes about a quarter of its JSON (about 250 bytes instead of
//! 1,100), and a status change about 25 bytes instead of 60. The JSON itself is unchanged: this
//! is only how the bytes lie in the file.
//!
//! Layout of a packed payload: one byte naming the scheme, then one zstd frame with its content
//! size and a checksum of the content (so a damaged byte that still decompresses is caught).
//! Scheme 1 is a zstd frame (any level) made with `assets/store/event-dictionary-1.txt`. A dictionary is never
//! changed once shipped, or older payloads could no longer be read; a better one is a new
//! scheme number beside the old, which stays readable for ever.

use std::cell::RefCell;

use zstd::bulk::{Compressor, Decompressor};
use zstd::zstd_safe::CParameter;

/// The dictionary of scheme 1: the default catalogue's test entries as a creation event writes
/// them, then the keys and common words of every event kind. Frozen (a test checks its SHA-256).
pub(crate) const DICTIONARY_1: &[u8] = include_bytes!("../../assets/store/event-dictionary-1.txt");

/// The scheme new payloads are written with.
const SCHEME: u8 = 1;

/// zstd's fastest standard level: on payloads this small, with the dictionary, within 2% of
/// level 3's size (253 against 249 bytes for a creation) at about twice the speed, which an
/// import of another PC's 100,000 events feels. The level is the writer's choice only: any
/// level reads back with the same dictionary.
const LEVEL: i32 = 1;

/// The largest payload unpacked. A request's JSON is a few kilobytes at most (its fields have
/// limits); anything claiming more is damage, refused before memory is set aside for it.
const MAX_UNPACKED: u64 = 1024 * 1024;

/// Why a stored payload could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("the stored payload is empty")]
    Empty,
    #[error(
        "the stored payload uses packing scheme {0}, which this Stopgap does not know (a newer version wrote it)"
    )]
    UnknownScheme(u8),
    #[error("the stored payload says it holds {0} bytes, more than any request ({MAX_UNPACKED})")]
    TooLarge(u64),
    #[error("the stored payload is damaged (it does not decompress or fails its checksum)")]
    Damaged(#[source] std::io::Error),
    #[error("the stored payload does not hold text")]
    NotText,
}

thread_local! {
    // One compressor and one decompressor per thread, each with the dictionary loaded once:
    // loading it costs more than packing one event.
    static PACKER: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static UNPACKER: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

fn compressor() -> std::io::Result<Compressor<'static>> {
    let mut c = Compressor::with_dictionary(LEVEL, DICTIONARY_1)?;
    c.set_parameter(CParameter::ChecksumFlag(true))?;
    c.set_parameter(CParameter::ContentSizeFlag(true))?;
    // The dictionary is raw content: its ID would be 0 anyway; the scheme byte says which.
    c.set_parameter(CParameter::DictIdFlag(false))?;
    Ok(c)
}

/// `json` packed for storage.
pub(crate) fn pack(json: &str) -> std::io::Result<Vec<u8>> {
    PACKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(compressor()?),
        };
        let frame = c.compress(json.as_bytes())?;
        let mut out = Vec::with_capacity(frame.len() + 1);
        out.push(SCHEME);
        out.extend_from_slice(&frame);
        Ok(out)
    })
}

/// The JSON a packed payload holds.
pub(crate) fn unpack(stored: &[u8]) -> Result<String, PackError> {
    let (&scheme, frame) = stored.split_first().ok_or(PackError::Empty)?;
    if scheme != SCHEME {
        return Err(PackError::UnknownScheme(scheme));
    }
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n,
        Ok(None) | Err(_) => {
            return Err(PackError::Damaged(std::io::Error::other(
                "no content size in the frame header",
            )));
        }
    };
    if size > MAX_UNPACKED {
        return Err(PackError::TooLarge(size));
    }
    let bytes = UNPACKER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = match slot.as_mut() {
            Some(d) => d,
            None => slot
                .insert(Decompressor::with_dictionary(DICTIONARY_1).map_err(PackError::Damaged)?),
        };
        // `size` was checked against the limit above, so the cast cannot truncate.
        d.decompress(frame, size as usize)
            .map_err(PackError::Damaged)
    })?;
    if bytes.len() as u64 != size {
        return Err(PackError::Damaged(std::io::Error::other(
            "the frame holds fewer bytes than its header says",
        )));
    }
    String::from_utf8(bytes).map_err(|_| PackError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const CREATED: &str = r##"{"kind":"created","downtime_id":"RXXW07000012Y","request":{"uuid":"58d565cc-28ad-412f-90f7-94fb91cba18a","patient":{"surname":"Testpatient","forename":"Zoë","dob":"1980-01-01","sex":"female","nhs_number":"9990000018","mrn":null,"emergency_number":null},"ward":"Ward 7","consultant":"Dr Example","requester":"Dr Jones","requester_contact":"Bleep 1234","tests":[{"code":"FBC","name":"Full blood count","specimen":"Whole blood","tube":"EDTA","tube_colour":"lavender","colour_hex":"#9B7FC6","volume_ml":2.0,"transfusion":false,"draw_order":"edta"}],"priority":"urgent","collected_at":"2026-06-04T10:30:00Z","collected_by":"Nurse Bloggs","clinical_details":"","notes":""}}"##;

    #[test]
    fn the_shipped_dictionary_is_never_changed() {
        // Every payload written with scheme 1 needs exactly these bytes to be read again. A
        // better dictionary is a new file and a new scheme number, never an edit of this one.
        let digest = Sha256::digest(DICTIONARY_1);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, FROZEN_SHA256);
    }

    const FROZEN_SHA256: &str = "c7b3b98964aeb50842f485592472461bf187f95ebb1e8da523354f2d3a714c77";

    #[test]
    fn a_payload_comes_back_exactly_and_takes_a_fraction_of_its_json() {
        let packed = pack(CREATED).unwrap();
        assert_eq!(packed[0], SCHEME);
        assert!(
            packed.len() * 3 < CREATED.len(),
            "{} bytes packed from {}",
            packed.len(),
            CREATED.len()
        );
        assert_eq!(unpack(&packed).unwrap(), CREATED);
        let status = r#"{"kind":"status_changed","transition":{"to":"received"}}"#;
        assert_eq!(unpack(&pack(status).unwrap()).unwrap(), status);
    }

    #[test]
    fn a_flipped_bit_is_refused_never_read_as_other_text() {
        let packed = pack(CREATED).unwrap();
        for i in 0..packed.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = packed.clone();
                bad[i] ^= bit;
                // Refused, or (a bit zstd does not use) the very same text: never other text.
                if let Ok(text) = unpack(&bad) {
                    assert_eq!(text, CREATED, "byte {i} bit {bit:#x} flipped");
                }
            }
        }
    }

    #[test]
    fn a_truncated_empty_unknown_or_oversized_payload_says_which() {
        let packed = pack(CREATED).unwrap();
        assert!(matches!(unpack(&[]), Err(PackError::Empty)));
        assert!(matches!(
            unpack(&packed[..packed.len() - 3]),
            Err(PackError::Damaged(_))
        ));
        let mut newer = packed.clone();
        newer[0] = 9;
        assert!(matches!(unpack(&newer), Err(PackError::UnknownScheme(9))));
        // A frame that claims 2 MB of zeros (it would decompress, but no request is that big).
        let big = Compressor::new(1)
            .unwrap()
            .compress(&vec![0u8; 2 << 20])
            .unwrap();
        let mut stored = vec![SCHEME];
        stored.extend_from_slice(&big);
        assert!(matches!(unpack(&stored), Err(PackError::TooLarge(_))));
    }
}
