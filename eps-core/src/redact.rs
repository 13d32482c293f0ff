//! Card-number masking for everything the EPS writes down: journal details, receipts, prompt
//! lines, terminal error texts, references, logs.
//!
//! Terminals are supposed to send masked PANs only; this is the second line of defence. Any
//! stand-alone run of 13 to 19 digits is masked to its first six and last four digits, whether it
//! passes the Luhn check or not (a mistyped or test card number is still a card number). The
//! digits may be grouped the way card numbers are printed: groups of at least three digits joined
//! by single spaces, dashes or dots, one kind of separator per run (`4111 1111 1111 1111`,
//! `3782-822463-10005`).
//!
//! What survives, by construction:
//! - runs of at most 12 digits: RequestIDs, STANs, terminal ids, approval codes, amounts;
//! - ISO timestamps (`2026-01-05T09:00:00.123Z`: groups of two digits never join a run);
//! - digits glued to letters or to a dash after a letter or digit: UUIDs and other identifiers
//!   (`0193a6f4-5c1e-7123-9123-456789012345`), `A4111111111111111`;
//! - runs longer than 19 digits (not a card number);
//! - numbers masked already (`680533######4747`).
//!
//! [`MaskedText`] is free text that went through [`mask_pans`]: the records' free-text fields
//! have that type, so nothing reaches the store unmasked.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Shortest digit run taken for a card number.
const MIN_PAN_DIGITS: usize = 13;
/// Longest digit run taken for a card number.
const MAX_PAN_DIGITS: usize = 19;
/// Smallest group of digits that a separator may join to its neighbour.
const MIN_GROUP: usize = 3;

/// Returns `text` with every stand-alone 13–19 digit run masked as `123456******1234` (see the
/// module doc for what counts as a run).
pub fn mask_pans(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || !starts_run(text, i) {
            i += 1;
            continue;
        }
        let run = digit_run(bytes, i);
        if ends_run(text, run.end) && (MIN_PAN_DIGITS..=MAX_PAN_DIGITS).contains(&run.digits.len())
        {
            out.push_str(&text[copied..i]);
            out.push_str(&masked(&run.digits));
            copied = run.end;
        }
        i = run.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// Free text that may have come from a terminal or a site system, with every card number in it
/// masked by [`mask_pans`]. The only way in is through the mask (reading a stored value masks it
/// again, which changes nothing already masked).
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct MaskedText(String);

impl MaskedText {
    /// `text` with its card numbers masked.
    pub fn new(text: impl AsRef<str>) -> Self {
        Self(mask_pans(text.as_ref()))
    }

    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The masked text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for MaskedText {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for MaskedText {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<MaskedText> for String {
    fn from(text: MaskedText) -> Self {
        text.0
    }
}

impl AsRef<str> for MaskedText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for MaskedText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for MaskedText {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for MaskedText {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for MaskedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MaskedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A run of digit groups: where it ends (a byte index, exclusive) and its digits.
struct Run {
    end: usize,
    digits: Vec<u8>,
}

/// Whether a run may start at byte `i`: not glued to a letter or digit before it, directly or
/// through a dash (identifiers such as UUIDs).
fn starts_run(text: &str, i: usize) -> bool {
    let mut before = text[..i].chars().rev();
    match before.next() {
        None => true,
        Some(c) if c.is_alphanumeric() => false,
        Some('-') => !before.next().is_some_and(char::is_alphanumeric),
        Some(_) => true,
    }
}

/// Whether a run ending at byte `end` stands alone: no letter or digit right after it, and no
/// dash leading on to a letter.
fn ends_run(text: &str, end: usize) -> bool {
    let mut after = text[end..].chars();
    match after.next() {
        None => true,
        Some(c) if c.is_alphanumeric() => false,
        Some('-') => !after.next().is_some_and(char::is_alphabetic),
        Some(_) => true,
    }
}

/// The longest run from `start`: digit groups joined by one kind of single separator, each
/// joined group at least [`MIN_GROUP`] digits long. Digits and separators are ASCII, so the
/// run is found on bytes.
fn digit_run(bytes: &[u8], start: usize) -> Run {
    let group_end = |from: usize| {
        (from..bytes.len())
            .find(|&j| !bytes[j].is_ascii_digit())
            .unwrap_or(bytes.len())
    };
    let mut end = group_end(start);
    let mut last_group = end - start;
    let mut separator: Option<u8> = None;
    while let Some(&sep) = bytes.get(end) {
        let joins = matches!(sep, b' ' | b'-' | b'.') && separator.is_none_or(|s| s == sep);
        let next = end + 1;
        if !joins || !bytes.get(next).is_some_and(u8::is_ascii_digit) {
            break;
        }
        let next_end = group_end(next);
        if last_group < MIN_GROUP || next_end - next < MIN_GROUP {
            break;
        }
        separator = Some(sep);
        last_group = next_end - next;
        end = next_end;
    }
    let digits = bytes[start..end]
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0')
        .collect();
    Run { end, digits }
}

fn masked(digits: &[u8]) -> String {
    digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i < 6 || i >= digits.len() - 4 {
                char::from(b'0' + d)
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{MaskedText, mask_pans};

    #[test]
    fn masks_card_numbers_whether_luhn_valid_or_not() {
        assert_eq!(
            mask_pans("PAN 4111111111111111 ok"),
            "PAN 411111******1111 ok"
        );
        // Fails the Luhn check: masked all the same.
        assert_eq!(mask_pans("4111111111111112"), "411111******1112");
        assert_eq!(
            mask_pans("Karte 5500000000000001."),
            "Karte 550000******0001."
        );
    }

    #[test]
    fn masks_grouped_numbers() {
        assert_eq!(mask_pans("4111 1111 1111 1111"), "411111******1111");
        assert_eq!(mask_pans("5500-0000-0000-0004"), "550000******0004");
        assert_eq!(mask_pans("5500.0000.0000.0005"), "550000******0005");
        // Amex 4-6-5 and a 19-digit 4-4-4-4-3.
        assert_eq!(mask_pans("3782 822463 10005"), "378282*****0005");
        assert_eq!(
            mask_pans("card: 6759 6498 2643 8453 186;"),
            "card: 675964*********3186;"
        );
    }

    #[test]
    fn masks_13_to_19_digits_and_nothing_shorter_or_longer() {
        assert_eq!(mask_pans("4222222222222"), "422222***2222");
        assert_eq!(mask_pans("6759649826438453186"), "675964*********3186");
        assert_eq!(mask_pans("422222222222"), "422222222222"); // 12 digits
        assert_eq!(mask_pans("67596498264384531861"), "67596498264384531861"); // 20
    }

    #[test]
    fn masks_inside_terminal_texts_and_track_data() {
        assert_eq!(
            mask_pans("Karte 4111111111111111 gesperrt"),
            "Karte 411111******1111 gesperrt"
        );
        assert_eq!(
            mask_pans(";4111111111111111=25121011234?"),
            ";411111******1111=25121011234?"
        );
        assert_eq!(
            mask_pans("PAN:4111-1111-1111-1111, exp 12/25"),
            "PAN:411111******1111, exp 12/25"
        );
    }

    #[test]
    fn leaves_request_ids_stans_amounts_and_timestamps_alone() {
        for text in [
            "Betrag EUR 39,50",
            "EUR 1234567.89",
            "STAN 021601 TID 68276185",
            "payment EUR 12.34 on POI 3e08c0a1-c08b-41b6-a9b9-78cb81b868d9 as RequestID 535112340001",
            "RequestID 123456789012, callback 123456789012.3",
            "2026-01-05T09:00:00.123Z",
            "2026-01-05 09:00:00",
            "05.01.2026 09:00",
            "Genehmigung 112648",
        ] {
            assert_eq!(mask_pans(text), text);
        }
    }

    #[test]
    fn leaves_identifiers_and_masked_numbers_alone() {
        for text in [
            "680533######4747",
            "476173XXXXXX0010",
            "ref A4111111111111111",
            "4111111111111111B",
            // UUIDs whose digit groups would add up to a card number's length.
            "0193a6f4-5c1e-7123-9123-456789012345",
            "0193a6f4-5c11-7123-9123-456789012345",
            "12345678-1234-7123-9123-4567890a2345",
        ] {
            assert_eq!(mask_pans(text), text);
        }
    }

    #[test]
    fn non_ascii_text_around_numbers_is_kept() {
        assert_eq!(
            mask_pans("Gebühr €4111111111111111 – ok"),
            "Gebühr €411111******1111 – ok"
        );
        assert_eq!(
            mask_pans("Kartenbetrag ü4111111111111111"),
            "Kartenbetrag ü4111111111111111"
        );
    }

    #[test]
    fn masked_text_masks_on_the_way_in_and_is_stable() {
        let text = MaskedText::new("Karte 4111 1111 1111 1111 gesperrt");
        assert_eq!(text, "Karte 411111******1111 gesperrt");
        assert_eq!(MaskedText::new(text.as_str()), text);
        let stored: MaskedText = serde_json::from_str("\"4111111111111111\"").unwrap();
        assert_eq!(stored, "411111******1111");
        assert_eq!(
            serde_json::to_string(&stored).unwrap(),
            "\"411111******1111\""
        );
    }
}
