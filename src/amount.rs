//! Exact amounts: parsing and canonical printing.
//!
//! Amounts are `rust_decimal::Decimal` values with at most six digits after
//! the point and at most 10^15; they are never held in binary floating point.

use rust_decimal::Decimal;

/// Digits allowed after the decimal point.
pub const MAX_SCALE: u32 = 6;
/// Largest amount accepted, as a count of whole credits (10^15).
pub const MAX_WHOLE: i64 = 1_000_000_000_000_000;

/// The largest amount accepted.
pub fn max() -> Decimal {
    Decimal::from(MAX_WHOLE)
}

/// Why a text is not an amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountError {
    /// The text is not a decimal number.
    NotANumber,
    /// The amount is below zero.
    Negative,
    /// More than six digits after the point.
    TooPrecise,
    /// Larger than 10^15.
    TooLarge,
}

impl AmountError {
    /// Words for the reader, to follow "invalid amount".
    pub fn reason(self) -> &'static str {
        match self {
            AmountError::NotANumber => "not a decimal number",
            AmountError::Negative => "amounts are never negative",
            AmountError::TooPrecise => "more than 6 digits after the point",
            AmountError::TooLarge => "larger than 10^15",
        }
    }
}

impl std::fmt::Display for AmountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid amount: {}", self.reason())
    }
}

impl std::error::Error for AmountError {}

/// Parses a non-negative decimal such as `12`, `0.5`, `1_000` (no), or the
/// JSON forms `1.5e3`, `1E-6`. The value must fit the amount rules; trailing
/// zeros after the point do not count towards the precision.
pub fn parse(text: &str) -> Result<Decimal, AmountError> {
    match parse_plain(text) {
        Some(value) => Ok(value),
        None => parse_any(text),
    }
}

/// The common case, read in one pass over a machine word: `1200`, `12.5`,
/// with at most 13 whole digits and 6 after the point, nothing else.
/// `None` sends anything else to [`parse_any`], which gives the same value
/// for these (a proptest compares the two). The point is found in the same
/// loop as the digits: `split_once('.')` was a call to core's char searcher
/// whenever the compiler chose not to inline it, a quarter of this
/// function's cost in a batch.
fn parse_plain(text: &str) -> Option<Decimal> {
    let mut value: u64 = 0;
    let (mut whole, mut fraction) = (0usize, 0usize);
    let mut point = false;
    for b in text.bytes() {
        if b == b'.' && !point {
            point = true;
            continue;
        }
        if !b.is_ascii_digit() {
            return None;
        }
        if point {
            fraction += 1;
        } else {
            whole += 1;
        }
        // At most 19 digits: below u64::MAX.
        if whole > 13 || fraction > MAX_SCALE as usize {
            return None;
        }
        value = value * 10 + u64::from(b - b'0');
    }
    if whole == 0 || (point && fraction == 0) {
        return None;
    }
    for _ in fraction..MAX_SCALE as usize {
        value *= 10;
    }
    Some(Decimal::from_i128_with_scale(i128::from(value), MAX_SCALE))
}

/// Any form [`parse`] accepts: signs, exponents, surrounding blanks.
fn parse_any(text: &str) -> Result<Decimal, AmountError> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => {
            let exp = body.get(at + 1..).unwrap_or("");
            let exp: i64 = exp.parse().map_err(|_| AmountError::NotANumber)?;
            (body.get(..at).unwrap_or(""), exp)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(AmountError::NotANumber);
    }
    if mantissa.contains('.') && frac_part.is_empty() {
        return Err(AmountError::NotANumber);
    }
    // The significant digits as one integer, without building a string:
    // leading zeros are skipped, trailing zeros counted and dropped.
    let mut value: i128 = 0;
    let mut significant = 0i64;
    let mut zeros = 0i64;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        let d = i128::from(b - b'0');
        if d == 0 {
            if significant > 0 {
                zeros += 1;
            }
            continue;
        }
        significant += zeros + 1;
        if significant > 40 {
            return Err(AmountError::TooLarge);
        }
        for _ in 0..zeros {
            value = value.checked_mul(10).ok_or(AmountError::TooLarge)?;
        }
        zeros = 0;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or(AmountError::TooLarge)?;
    }
    let scale = frac_part.len() as i64 - exponent - zeros;
    if significant == 0 {
        return Ok(Decimal::new(0, MAX_SCALE));
    }
    if negative {
        return Err(AmountError::Negative);
    }
    if scale > i64::from(MAX_SCALE) {
        return Err(AmountError::TooPrecise);
    }
    // Whole digits: significant digits left of the point.
    if significant - scale > 16 {
        return Err(AmountError::TooLarge);
    }
    let mut scale = scale;
    while scale < 0 {
        value = value.checked_mul(10).ok_or(AmountError::TooLarge)?;
        scale += 1;
    }
    let mut value = Decimal::try_from_i128_with_scale(value, scale as u32)
        .map_err(|_| AmountError::TooLarge)?;
    if value > max() {
        return Err(AmountError::TooLarge);
    }
    // Every amount carries six decimals, so sums and comparisons of amounts
    // take rust_decimal's same-scale paths (no rescaling per operation).
    value.rescale(MAX_SCALE);
    Ok(value)
}

/// An amount in integer millionths, if it has at most six decimals (every
/// amount and policy number has; a product of two may not).
#[inline]
pub(crate) fn micros(value: Decimal) -> Option<i128> {
    if value.scale() == MAX_SCALE {
        return Some(value.mantissa());
    }
    let up = MAX_SCALE.checked_sub(value.scale())?;
    value.mantissa().checked_mul(10i128.checked_pow(up)?)
}

/// The canonical text of an amount: no exponent, no trailing fractional
/// zeros, never `-0` (`"12.5"`, `"1200"`, `"0"`).
pub fn format(value: Decimal) -> String {
    if value.is_zero() {
        return "0".to_owned();
    }
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_plain_path_agrees_with_the_general_one(
            text in "[0-9]{0,15}(\\.[0-9]{0,8})?|[-+ 0-9.eE_]{0,12}",
        ) {
            if let Some(fast) = parse_plain(&text) {
                let slow = parse_any(&text);
                prop_assert_eq!(Ok(fast), slow);
                // The same scale too, so printing and arithmetic agree.
                prop_assert_eq!(fast.serialize(), slow.map(|d| d.serialize()).unwrap_or_default());
            }
        }
    }

    fn ok(text: &str) -> String {
        format(parse(text).unwrap())
    }

    #[test]
    fn parses_plain_and_json_forms() {
        assert_eq!(ok("1200"), "1200");
        assert_eq!(ok("640.50"), "640.5");
        assert_eq!(ok("0.000001"), "0.000001");
        assert_eq!(ok("1e-06"), "0.000001");
        assert_eq!(ok("1.5E3"), "1500");
        assert_eq!(ok("1.0000000"), "1");
        assert_eq!(ok("0"), "0");
        assert_eq!(ok("-0"), "0");
        assert_eq!(ok("1000000000000000"), "1000000000000000");
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        assert_eq!(parse("-1"), Err(AmountError::Negative));
        assert_eq!(parse("0.0000001"), Err(AmountError::TooPrecise));
        assert_eq!(parse("1000000000000000.000001"), Err(AmountError::TooLarge));
        assert_eq!(parse("1e400"), Err(AmountError::TooLarge));
        assert_eq!(parse("1e-400"), Err(AmountError::TooPrecise));
        for bad in ["", ".5", "5.", "1.2.3", "abc", "1e", "NaN", "0x10", "1_000"] {
            assert_eq!(parse(bad), Err(AmountError::NotANumber), "{bad}");
        }
    }
}
