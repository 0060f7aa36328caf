//! Values an expression can take, and the operators on them.
//!
//! One implementation serves constant folding in the checker and the
//! evaluator, so a constant and a computed value can never disagree.

use rust_decimal::Decimal;

use crate::lang::BinaryOp;
use crate::time::Timestamp;

/// A value during evaluation. Text borrows from the policy or the snapshot,
/// so evaluating allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// An optional snapshot field that the snapshot leaves out.
    Absent,
    Bool(bool),
    Decimal(Decimal),
    Time(Timestamp),
    /// Whole seconds.
    Duration(i64),
    /// Calendar months: `1mo`, `1y` (12).
    Months(i64),
    Text(&'a str),
    /// A member of an enum-like type (user enum, kind, role, action), by index.
    Enum(u32),
}

/// Why an operation has no value. The checker rules out type errors, so
/// `Mismatch` means a bug in tollgate, reported rather than panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpError {
    /// The exact result is too large (or a time left its range).
    Overflow,
    /// The exact result is in range but needs more significant digits or
    /// decimal places than a decimal holds (28); it is refused, not
    /// rounded.
    Inexact,
    Mismatch,
}

impl<'a> Value<'a> {
    pub fn as_bool(self) -> Result<bool, OpError> {
        match self {
            Value::Bool(b) => Ok(b),
            _ => Err(OpError::Mismatch),
        }
    }

    pub fn as_decimal(self) -> Result<Decimal, OpError> {
        match self {
            Value::Decimal(d) => Ok(d),
            _ => Err(OpError::Mismatch),
        }
    }

    /// `not x` and `-x`.
    pub fn negate(self) -> Result<Value<'a>, OpError> {
        Ok(Value::Bool(!self.as_bool()?))
    }

    pub fn minus(self) -> Result<Value<'a>, OpError> {
        match self {
            Value::Decimal(d) => Ok(Value::Decimal(-d)),
            Value::Duration(s) => s
                .checked_neg()
                .map(Value::Duration)
                .ok_or(OpError::Overflow),
            Value::Months(m) => m.checked_neg().map(Value::Months).ok_or(OpError::Overflow),
            _ => Err(OpError::Mismatch),
        }
    }

    /// A binary operator other than `and`, `or` and `??`, which decide
    /// themselves whether to look at their right side.
    pub fn binary(op: BinaryOp, a: Value<'a>, b: Value<'a>) -> Result<Value<'a>, OpError> {
        use Value::*;
        match op {
            BinaryOp::Eq => Ok(Bool(a == b)),
            BinaryOp::Ne => Ok(Bool(a != b)),
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ordering = match (a, b) {
                    (Decimal(x), Decimal(y)) => x.cmp(&y),
                    (Time(x), Time(y)) => x.cmp(&y),
                    (Duration(x), Duration(y)) => x.cmp(&y),
                    (Months(x), Months(y)) => x.cmp(&y),
                    _ => return Err(OpError::Mismatch),
                };
                Ok(Bool(match op {
                    BinaryOp::Lt => ordering.is_lt(),
                    BinaryOp::Le => ordering.is_le(),
                    BinaryOp::Gt => ordering.is_gt(),
                    _ => ordering.is_ge(),
                }))
            }
            BinaryOp::Add => match (a, b) {
                (Decimal(x), Decimal(y)) => exact_add(x, y).map(Decimal),
                (Duration(x), Duration(y)) => {
                    x.checked_add(y).map(Duration).ok_or(OpError::Overflow)
                }
                (Time(t), Duration(s)) | (Duration(s), Time(t)) => {
                    t.add_seconds(s).map(Time).ok_or(OpError::Overflow)
                }
                (Months(x), Months(y)) => x.checked_add(y).map(Months).ok_or(OpError::Overflow),
                (Time(t), Months(m)) | (Months(m), Time(t)) => {
                    t.add_months(m).map(Time).ok_or(OpError::Overflow)
                }
                _ => Err(OpError::Mismatch),
            },
            BinaryOp::Sub => match (a, b) {
                (Decimal(x), Decimal(y)) => exact_add(x, -y).map(Decimal),
                (Duration(x), Duration(y)) => {
                    x.checked_sub(y).map(Duration).ok_or(OpError::Overflow)
                }
                (Time(t), Duration(s)) => s
                    .checked_neg()
                    .and_then(|s| t.add_seconds(s))
                    .map(Time)
                    .ok_or(OpError::Overflow),
                (Time(x), Time(y)) => Ok(Duration(x.seconds_since(y))),
                (Months(x), Months(y)) => x.checked_sub(y).map(Months).ok_or(OpError::Overflow),
                (Time(t), Months(m)) => m
                    .checked_neg()
                    .and_then(|m| t.add_months(m))
                    .map(Time)
                    .ok_or(OpError::Overflow),
                _ => Err(OpError::Mismatch),
            },
            BinaryOp::Mul => match (a, b) {
                (Decimal(x), Decimal(y)) => exact_mul(x, y).map(Decimal),
                _ => Err(OpError::Mismatch),
            },
            BinaryOp::And | BinaryOp::Or | BinaryOp::Default => Err(OpError::Mismatch),
        }
    }
}

/// `x + y` exactly, or why not: [`OpError::Overflow`] when the sum is too
/// large for a decimal, [`OpError::Inexact`] when it needs more digits than
/// a decimal holds (96 bits, at most 28 places). `rust_decimal` would round
/// it instead, and a policy's arithmetic is exact or refused: a rounded
/// value would decide differently from what the policy says (and from what
/// `verify` proves).
fn exact_add(
    x: rust_decimal::Decimal,
    y: rust_decimal::Decimal,
) -> Result<rust_decimal::Decimal, OpError> {
    // `rust_decimal` fails only on magnitude; anything else it would round.
    // Operands may carry trailing zeros (an amount's six places, a
    // constant's): without them the exact value may fit after all.
    (exact_sum(x, y).or_else(|| exact_sum(x.normalize(), y.normalize()))).ok_or(
        match x.checked_add(y) {
            None => OpError::Overflow,
            Some(_) => OpError::Inexact,
        },
    )
}

fn exact_sum(x: rust_decimal::Decimal, y: rust_decimal::Decimal) -> Option<rust_decimal::Decimal> {
    let scale = x.scale().max(y.scale());
    let mx = x
        .mantissa()
        .checked_mul(10i128.checked_pow(scale - x.scale())?)?;
    let my = y
        .mantissa()
        .checked_mul(10i128.checked_pow(scale - y.scale())?)?;
    fit(mx.checked_add(my)?, scale)
}

/// `x * y` exactly, or why not, as [`exact_add`].
fn exact_mul(
    x: rust_decimal::Decimal,
    y: rust_decimal::Decimal,
) -> Result<rust_decimal::Decimal, OpError> {
    (exact_product(x, y).or_else(|| exact_product(x.normalize(), y.normalize()))).ok_or(
        match x.checked_mul(y) {
            None => OpError::Overflow,
            Some(_) => OpError::Inexact,
        },
    )
}

fn exact_product(
    x: rust_decimal::Decimal,
    y: rust_decimal::Decimal,
) -> Option<rust_decimal::Decimal> {
    fit(
        x.mantissa().checked_mul(y.mantissa())?,
        x.scale() + y.scale(),
    )
}

/// The decimal `mantissa × 10^-scale`, trailing zeros dropped while it does
/// not fit; `None` when it cannot be held exactly.
fn fit(mut mantissa: i128, mut scale: u32) -> Option<rust_decimal::Decimal> {
    loop {
        if scale <= rust_decimal::Decimal::MAX_SCALE {
            if let Ok(d) = rust_decimal::Decimal::try_from_i128_with_scale(mantissa, scale) {
                return Some(d);
            }
        }
        if scale == 0 || mantissa % 10 != 0 {
            return None;
        }
        mantissa /= 10;
        scale -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_exact_and_checked() {
        let d = |s: &str| Value::Decimal(s.parse().unwrap());
        assert_eq!(
            Value::binary(BinaryOp::Add, d("0.1"), d("0.2")),
            Ok(d("0.3"))
        );
        assert_eq!(
            Value::binary(BinaryOp::Mul, d("1.5"), d("0.000001")),
            Ok(d("0.0000015"))
        );
        let huge = Value::Decimal(rust_decimal::Decimal::MAX);
        assert_eq!(
            Value::binary(BinaryOp::Add, huge, d("1")),
            Err(OpError::Overflow)
        );
        assert_eq!(
            Value::binary(BinaryOp::Mul, huge, huge),
            Err(OpError::Overflow)
        );
    }

    /// A product or sum that would need rounding is refused (found by
    /// `verify`: `usable * usable * usable * usable * usable == 0` held for
    /// 0.000001 credits, its exact value 10^-30 rounded to 0).
    #[test]
    fn inexact_arithmetic_is_refused_not_rounded() {
        let d = |s: &str| Value::Decimal(s.parse().unwrap());
        let tiny = d("0.000001");
        let mut x = tiny;
        for _ in 0..3 {
            x = Value::binary(BinaryOp::Mul, x, tiny).unwrap();
        }
        assert_eq!(x, d("0.000000000000000000000001"));
        // Too small to hold, not too large: said as such.
        assert_eq!(Value::binary(BinaryOp::Mul, x, tiny), Err(OpError::Inexact));
        let big = d("123456789012.345678");
        assert_eq!(
            Value::binary(BinaryOp::Mul, big, big),
            Err(OpError::Inexact)
        );
        // Trailing zeros in the operands do not count against the product:
        // 0.000001 × 10^15 × 10^15 is 10^24, held exactly.
        let places = Value::Decimal(rust_decimal::Decimal::from_i128_with_scale(
            1_000_000_000_000_000_000_000,
            6,
        ));
        assert_eq!(
            Value::binary(BinaryOp::Mul, d("0.000001"), places).and_then(|x| Value::binary(
                BinaryOp::Mul,
                x,
                places
            )),
            Ok(d("1000000000000000000000000"))
        );
        // Too large, said as such: 10^30 is past a decimal's 7.9 × 10^28.
        let large = d("1000000000000000");
        assert_eq!(
            Value::binary(BinaryOp::Mul, large, large),
            Err(OpError::Overflow)
        );
        assert_eq!(
            Value::binary(BinaryOp::Mul, d("123456789012"), d("123456789012")),
            Ok(d("15241578753153483936144"))
        );
        // Trailing zeros are dropped to make room; value kept exactly.
        assert_eq!(
            Value::binary(BinaryOp::Mul, d("0.00000000000000000000000010"), d("10")),
            Ok(d("0.000000000000000000000001"))
        );
        let fine = d("0.0000000000000000000000000001");
        assert_eq!(
            Value::binary(BinaryOp::Add, fine, d("1000")),
            Err(OpError::Inexact)
        );
        assert_eq!(
            Value::binary(BinaryOp::Sub, d("2.5"), d("0.75")),
            Ok(d("1.75"))
        );
    }

    #[test]
    fn time_moves_by_durations() {
        let t = Value::Time(Timestamp::parse("2026-11-22T10:00:00Z").unwrap());
        let week = Value::Duration(7 * 86_400);
        let later = Value::binary(BinaryOp::Add, t, week).unwrap();
        assert_eq!(
            later,
            Value::Time(Timestamp::parse("2026-11-29T10:00:00Z").unwrap())
        );
        assert_eq!(Value::binary(BinaryOp::Sub, later, t), Ok(week));
        assert_eq!(Value::binary(BinaryOp::Lt, t, later), Ok(Value::Bool(true)));
        let forever = Value::Duration(i64::MAX);
        assert_eq!(
            Value::binary(BinaryOp::Add, t, forever),
            Err(OpError::Overflow)
        );
    }
}
