//! Card-number redaction for anything the EPS writes down: journal details, receipts, prompts, logs.
//!
//! Terminals are supposed to send masked PANs only; this is the second line of defence. Any run of
//! 13 to 19 digits (optionally grouped by single spaces or dashes) that passes the Luhn check is
//! masked to its first six and last four digits.

/// Returns `text` with every Luhn-valid 13–19 digit run masked as `123456******1234`.
pub fn mask_pans(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let (end, digits) = digit_run(&chars, i);
            let bounded = end == chars.len() || !chars[end].is_ascii_alphanumeric();
            if bounded && (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
                out.push_str(&masked(&digits));
                i = end;
                continue;
            }
            chars[i..end].iter().for_each(|c| out.push(*c));
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The end of a digit run starting at `start` (single spaces or dashes may separate groups) and
/// its digits.
fn digit_run(chars: &[char], start: usize) -> (usize, Vec<u8>) {
    let mut digits = Vec::new();
    let mut end = start;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if let Some(d) = c.to_digit(10) {
            digits.push(d as u8);
            i += 1;
            end = i;
        } else if (c == ' ' || c == '-') && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
        } else {
            break;
        }
    }
    (end, digits)
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
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
    use super::mask_pans;

    #[test]
    fn masks_luhn_valid_card_numbers() {
        assert_eq!(
            mask_pans("PAN 4111111111111111 ok"),
            "PAN 411111******1111 ok"
        );
        assert_eq!(mask_pans("4111 1111 1111 1111"), "411111******1111");
        assert_eq!(mask_pans("5500-0000-0000-0004"), "550000******0004");
    }

    #[test]
    fn leaves_other_numbers_alone() {
        assert_eq!(mask_pans("Betrag EUR 39,50"), "Betrag EUR 39,50");
        assert_eq!(
            mask_pans("STAN 021601 TID 68276185"),
            "STAN 021601 TID 68276185"
        );
        assert_eq!(mask_pans("4111111111111112"), "4111111111111112"); // fails Luhn
        assert_eq!(mask_pans("680533######4747"), "680533######4747");
        assert_eq!(mask_pans("ref A4111111111111111"), "ref A4111111111111111");
    }
}
