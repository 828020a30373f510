//! The one duration grammar of every flag and query: a whole number and a unit, `ms`, `s`,
//! `m`, `h` or `d` (a bare number is seconds), at most [`MAX`]. Nothing here can overflow: a
//! longer value is refused, with the field's name and the fix.

use std::time::Duration;

/// The longest duration any flag or query takes: ten years.
pub const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

const GRAMMAR: &str =
    "a whole number and a unit, e.g. 500ms, 30s, 5m, 1h or 7d (a bare number is seconds)";

/// `'value'`, control characters escaped and long values cut.
fn quoted(value: &str) -> String {
    let shown: String = value
        .chars()
        .take(64)
        .flat_map(char::escape_debug)
        .collect();
    format!("'{shown}'")
}

/// Parses `text`; `zero` allows `0` (e.g. a grace period), else it must be more than 0.
pub fn parse(text: &str, zero: bool) -> Result<Duration, String> {
    let value = text.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let shown = quoted(value);
    if number.is_empty() {
        return Err(format!("{shown} is not a duration: use {GRAMMAR}"));
    }
    let scale: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "{shown} is not a duration (unit {}): use {GRAMMAR}",
                quoted(unit)
            ));
        }
    };
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .map(Duration::from_millis)
        .filter(|d| *d <= MAX)
        .ok_or_else(|| format!("{shown} is longer than the longest duration taken, 3650d"))?;
    if millis.is_zero() && !zero {
        return Err(format!("{shown} must be more than 0"));
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_and_each_refusal() {
        assert_eq!(parse("500ms", false), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30", false), Ok(Duration::from_secs(30)));
        assert_eq!(parse(" 5m ", false), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h", false), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("7d", false), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse("0", true), Ok(Duration::ZERO));
        assert_eq!(parse("3650d", false), Ok(MAX));
        let refused = |text: &str| parse(text, false).unwrap_err();
        assert!(refused("0").contains("more than 0"));
        assert!(
            refused("1.5s").contains("is not a duration (unit '.5s')"),
            "{}",
            refused("1.5s")
        );
        assert!(refused("99999999999999999m").contains("longer than"));
        assert!(refused("18446744073709551615").contains("longer than"));
        assert!(refused("3651d").contains("longer than"));
        assert!(refused("").contains("is not a duration"));
        assert!(refused("-1s").contains("is not a duration"));
        assert!(refused("1w").contains("unit 'w'"));
    }
}
