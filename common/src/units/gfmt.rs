//! C `printf("%.*g")` formatting. Mesos prints scalars and durations through
//! an ostream set to `digits10` (15) significant digits in the default float
//! mode, which is `%.15g`: shortest of fixed or exponent form, trailing zeros
//! dropped. Rust's `{}` for f64 prints the shortest round-trip form instead,
//! which differs (e.g. `0.30000000000000004` against `0.3`), hence this.

/// Formats `value` as C's `%.{precision}g` does.
pub(crate) fn format_g(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if value.is_infinite() {
        return if value < 0.0 {
            "-inf".into()
        } else {
            "inf".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let precision = precision.max(1);
    // The exponent %g decides on is the one of the %e rendering at the same
    // precision, i.e. after rounding (9.9999999999999999 becomes 1e1).
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = match scientific.split_once('e') {
        Some(parts) => parts,
        None => return scientific,
    };
    let exponent: i64 = exponent.parse().unwrap_or(0);
    if exponent < -4 || exponent >= precision as i64 {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    } else {
        let decimals = (precision as i64 - 1 - exponent).max(0) as usize;
        strip_fraction_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn strip_fraction_zeros(text: &str) -> &str {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn matches_printf_g15() {
        // Expected values are what glibc's printf("%.15g") prints.
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (1.5, "1.5"),
            (45.55, "45.55"),
            (0.1 + 0.2, "0.3"),
            (1000001.0, "1000001"),
            (99999999999.999, "99999999999.999"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (1234567890123456.0, "1.23456789012346e+15"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.25, "-2.25"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_g(*value, 15), *expected, "formatting {value:e}");
        }
    }

    #[test]
    fn rounding_carries_into_the_exponent() {
        assert_eq!(format_g(999_999_999_999_999.9, 15), "1e+15");
        assert_eq!(format_g(0.5, 1), "0.5");
        assert_eq!(format_g(2.5, 1), "2");
    }
}
