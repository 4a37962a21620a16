//! Unit tests of the encodings, compiled as `#[cfg(test)] mod tests` of the module: fixed instants, DST,
//! column fits, and properties over random instants and zones.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

const ALL: [TimeEncoding; 11] = [
    TimeEncoding::Timestamptz,
    TimeEncoding::Timestamp,
    TimeEncoding::Date,
    TimeEncoding::Epoch(EpochUnit::Seconds),
    TimeEncoding::Epoch(EpochUnit::Milliseconds),
    TimeEncoding::Epoch(EpochUnit::Microseconds),
    TimeEncoding::Epoch(EpochUnit::Nanoseconds),
    TimeEncoding::UuidV7,
    TimeEncoding::UlidText,
    TimeEncoding::Snowflake(Snowflake::TWITTER),
    TimeEncoding::Snowflake(Snowflake::SONYFLAKE),
];

#[test]
fn names_read_back() {
    for encoding in ALL
        .into_iter()
        .chain([TimeEncoding::Snowflake(Snowflake::DISCORD)])
    {
        assert_eq!(encoding.to_string().parse::<TimeEncoding>(), Ok(encoding));
    }
    let custom: TimeEncoding = "snowflake:1600000000000:1:20".parse().unwrap();
    assert_eq!(custom.to_string(), "snowflake:1600000000000:1:20");
    assert!(matches!(
        "uuid".parse::<TimeEncoding>(),
        Err(EncodingError::Unknown(_))
    ));
    for bad in [
        "snowflake::1:22",
        "snowflake:0:7:22",
        "snowflake:0:1:63",
        "snowflake:3:10:22",
    ] {
        assert!(
            matches!(
                bad.parse::<TimeEncoding>(),
                Err(EncodingError::BadSnowflake(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn uuidv7_and_ulid_bounds_are_the_smallest_id_of_the_millisecond() {
    let at = utc(2024, 3, 10, 0);
    let ms = at.timestamp_millis();
    let KeyValue::Uuid(bound) = TimeEncoding::UuidV7.encode(at, chrono_tz::UTC).unwrap() else {
        panic!("a uuid");
    };
    assert_eq!(bound.as_u128() >> 80, u128::try_from(ms).unwrap());
    assert_eq!(bound.as_u128() & ((1 << 80) - 1), 0);
    // A v7 of that millisecond with every other bit set sorts above it, one of the millisecond before below.
    let last = uuid::Uuid::from_u128(bound.as_u128() | ((1 << 80) - 1));
    let before = uuid::Uuid::from_u128(bound.as_u128() - 1);
    assert!(before < bound && bound < last);
    assert_eq!(
        TimeEncoding::UuidV7.decode_text(&last.to_string()),
        None,
        "not a bound"
    );
    let KeyValue::Text(ulid) = TimeEncoding::UlidText.encode(at, chrono_tz::UTC).unwrap() else {
        panic!("text");
    };
    assert_eq!(ulid.len(), 26);
    assert!(ulid.ends_with("0000000000000000"));
    assert_eq!(TimeEncoding::UlidText.decode_text(&ulid), Some(at));
}

#[test]
fn local_encodings_follow_the_zone_across_dst() {
    let berlin = chrono_tz::Europe::Berlin;
    // 31 March 2024: midnight in Berlin is 23:00 UTC the day before; the next midnight is 22:00 UTC.
    let start = utc(2024, 3, 30, 23);
    assert_eq!(
        TimeEncoding::Date.encode(start, berlin).unwrap(),
        KeyValue::Date(NaiveDate::from_ymd_opt(2024, 3, 31).unwrap())
    );
    assert_eq!(
        TimeEncoding::Timestamp
            .encode(utc(2024, 3, 31, 22), berlin)
            .unwrap()
            .to_string(),
        "2024-04-01 00:00:00"
    );
    assert_eq!(
        TimeEncoding::Timestamptz
            .encode(start, berlin)
            .unwrap()
            .to_string(),
        "2024-03-31 00:00:00+01:00"
    );
}

#[test]
fn columns_and_periods_that_cannot_work_are_refused_with_the_fix() {
    let epoch = TimeEncoding::Epoch(EpochUnit::Seconds);
    assert_eq!(epoch.fit("bigint", None, Period::Hour), Ok(epoch));
    assert!(matches!(
        epoch.fit("uuid", None, Period::Day),
        Err(EncodingError::WrongColumnType { .. })
    ));
    assert!(matches!(
        TimeEncoding::UuidV7.fit("bigint", None, Period::Day),
        Err(EncodingError::WrongColumnType { .. })
    ));
    assert_eq!(
        TimeEncoding::UlidText.fit("uuid", None, Period::Day),
        Ok(TimeEncoding::UuidV7)
    );
    assert!(matches!(
        TimeEncoding::UlidText.fit("text", Some("en_US"), Period::Day),
        Err(EncodingError::NotBytewise(_))
    ));
    assert_eq!(
        TimeEncoding::UlidText.fit("text", Some("C"), Period::Day),
        Ok(TimeEncoding::UlidText)
    );
    assert!(matches!(
        TimeEncoding::Date.fit("date", None, Period::Hour),
        Err(EncodingError::PeriodBelowResolution { .. })
    ));
    assert!(matches!(
        TimeEncoding::Snowflake(Snowflake::TWITTER).fit("integer", None, Period::Day),
        Err(EncodingError::WrongColumnType { .. })
    ));
    // An integer column in seconds ends in January 2038.
    let late = utc(2038, 2, 1, 0);
    let value = epoch.encode(late, chrono_tz::UTC).unwrap();
    let err = epoch.check_fits(late, &value, "integer").unwrap_err();
    assert!(
        err.to_string().contains("until 2038-01-19 03:14:07 UTC"),
        "{err}"
    );
    assert!(epoch.check_fits(late, &value, "bigint").is_ok());
    assert!(matches!(
        TimeEncoding::Snowflake(Snowflake::DISCORD).encode(utc(2014, 1, 1, 0), chrono_tz::UTC),
        Err(EncodingError::OutOfRange { .. })
    ));
}

#[test]
fn snowflake_bounds_leave_the_low_bits_clear() {
    let at = utc(2024, 3, 10, 0);
    let KeyValue::Int(twitter) = TimeEncoding::Snowflake(Snowflake::TWITTER)
        .encode(at, chrono_tz::UTC)
        .unwrap()
    else {
        panic!("an integer");
    };
    assert_eq!(twitter, (at.timestamp_millis() - 1_288_834_974_657) << 22);
    assert_eq!(
        TimeEncoding::Snowflake(Snowflake::TWITTER).decode_int(twitter + 1),
        None
    );
}

fn zones() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Australia::Lord_Howe,
    ])
}

proptest! {
    /// For instants at the encoding's resolution, encoding then decoding gives the instant back, and a later
    /// instant never encodes lower.
    #[test]
    fn encode_decode_is_the_identity_and_monotonic(
        a in 0_i64..4_000_000_000_000,
        b in 0_i64..4_000_000_000_000,
        zone in zones(),
        which in 0_usize..ALL.len(),
    ) {
        let encoding = ALL[which];
        let resolution = Ord::max(encoding.resolution().num_milliseconds(), 1);
        let snap = |ms: i64| {
            let ms = match encoding {
                // Local midnights: the start of the zone's day.
                TimeEncoding::Date => {
                    let day = Utc.timestamp_millis_opt(ms).unwrap().with_timezone(&zone).date_naive();
                    let midnight = day
                        .and_hms_opt(0, 0, 0)
                        .and_then(|m| m.and_local_timezone(zone).earliest())?;
                    midnight.timestamp_millis()
                }
                _ => ms - ms.rem_euclid(resolution),
            };
            Utc.timestamp_millis_opt(ms).single()
        };
        let (Some(x), Some(y)) = (snap(a), snap(b)) else { return Ok(()) };
        let (Ok(ex), Ok(ey)) = (encoding.encode(x, zone), encoding.encode(y, zone)) else { return Ok(()) };
        match &ex {
            KeyValue::Int(v) => prop_assert_eq!(encoding.decode_int(*v), Some(x)),
            KeyValue::Uuid(u) => prop_assert_eq!(encoding.decode_text(&u.to_string()), Some(x)),
            KeyValue::Text(t) => prop_assert_eq!(encoding.decode_text(t), Some(x)),
            KeyValue::Date(d) => prop_assert_eq!(*d, x.with_timezone(&zone).date_naive()),
            KeyValue::Timestamp(t) => prop_assert_eq!(*t, x.with_timezone(&zone).naive_local()),
            KeyValue::Timestamptz(t) => prop_assert_eq!(t.with_timezone(&Utc), x),
        }
        let order = |v: &KeyValue, w: &KeyValue| match (v, w) {
            (KeyValue::Int(v), KeyValue::Int(w)) => v.cmp(w),
            (KeyValue::Uuid(v), KeyValue::Uuid(w)) => v.as_bytes().cmp(w.as_bytes()),
            (KeyValue::Text(v), KeyValue::Text(w)) => v.as_bytes().cmp(w.as_bytes()),
            (KeyValue::Date(v), KeyValue::Date(w)) => v.cmp(w),
            (KeyValue::Timestamp(v), KeyValue::Timestamp(w)) => v.cmp(w),
            (KeyValue::Timestamptz(v), KeyValue::Timestamptz(w)) => v.cmp(w),
            _ => std::cmp::Ordering::Equal,
        };
        if x < y {
            prop_assert_ne!(order(&ex, &ey), std::cmp::Ordering::Greater);
        }
    }
}
