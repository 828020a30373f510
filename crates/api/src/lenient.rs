//! Reading answers in every form a Facets server may send them: times as ISO-8601 strings or
//! as epoch milliseconds (Jackson's default), ids as strings or numbers. Whatever arrives is
//! kept as text; times become ISO-8601 (`2026-11-23T10:15:30.123Z`).

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    String(String),
    Integer(i64),
    Float(f64),
}

/// Epoch milliseconds as ISO-8601 UTC with milliseconds; `None` when out of range.
pub fn iso_from_millis(millis: i64) -> Option<String> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()?
        .format(&format)
        .ok()
}

/// A time as a query takes it (the audit log's `start` and `end`): ISO-8601 with an offset
/// (`2026-11-23T10:00:00Z`), a date (`2026-11-23`, midnight UTC), or epoch milliseconds; as
/// ISO-8601 UTC with milliseconds. `None` when it is none of these, or out of range.
pub fn query_time(value: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let value = value.trim();
    if let Ok(millis) = value.parse::<i64>() {
        return iso_from_millis(millis);
    }
    let parsed = if value.len() == 10 {
        time::OffsetDateTime::parse(&format!("{value}T00:00:00Z"), &Rfc3339)
    } else {
        time::OffsetDateTime::parse(value, &Rfc3339)
    };
    let millis = parsed.ok()?.unix_timestamp_nanos() / 1_000_000;
    iso_from_millis(i64::try_from(millis).ok()?)
}

fn time_text(value: Text) -> String {
    match value {
        Text::String(text) => text,
        Text::Integer(millis) => iso_from_millis(millis).unwrap_or_else(|| millis.to_string()),
        Text::Float(millis) => iso_from_millis(millis as i64).unwrap_or_else(|| millis.to_string()),
    }
}

fn id_text(value: Text) -> String {
    match value {
        Text::String(text) => text,
        Text::Integer(id) => id.to_string(),
        Text::Float(id) => id.to_string(),
    }
}

/// An optional time, string or epoch milliseconds.
pub fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(deserializer)?.map(time_text))
}

/// A required time, string or epoch milliseconds.
pub fn required_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Text::deserialize(deserializer).map(time_text)
}

/// A required id, string or number.
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Text::deserialize(deserializer).map(id_text)
}

/// An optional id, string or number.
pub fn optional_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(deserializer)?.map(id_text))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "super::id")]
        id: String,
        #[serde(default, deserialize_with = "super::time")]
        at: Option<String>,
    }

    fn read(json: &str) -> Sample {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn times_arrive_as_text_or_epoch_milliseconds() {
        assert_eq!(
            read(r#"{"id": "a", "at": 1764495330123}"#).at.as_deref(),
            Some("2025-11-30T09:35:30.123Z")
        );
        assert_eq!(
            read(r#"{"id": "a", "at": "2026-11-23T10:00:00Z"}"#)
                .at
                .as_deref(),
            Some("2026-11-23T10:00:00Z")
        );
        assert_eq!(read(r#"{"id": "a", "at": null}"#).at, None);
        assert_eq!(read(r#"{"id": "a"}"#).at, None);
    }

    #[test]
    fn query_times_are_iso_dates_or_epoch_milliseconds() {
        use super::query_time;
        assert_eq!(
            query_time("1764495330123").as_deref(),
            Some("2025-11-30T09:35:30.123Z")
        );
        assert_eq!(
            query_time("2026-11-23").as_deref(),
            Some("2026-11-23T00:00:00.000Z")
        );
        assert_eq!(
            query_time(" 2026-11-23T12:00:00+02:00 ").as_deref(),
            Some("2026-11-23T10:00:00.000Z")
        );
        for bad in [
            "yesterday",
            "",
            "2026-02-30",
            "2026-11-23 10:00",
            "9223372036854775807",
        ] {
            assert_eq!(query_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_arrive_as_strings_or_numbers() {
        assert_eq!(read(r#"{"id": 42}"#).id, "42");
        assert_eq!(read(r#"{"id": "5f0c"}"#).id, "5f0c");
    }
}
