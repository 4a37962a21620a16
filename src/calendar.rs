//! Pure time math: periods, their boundaries in a time zone, retention thresholds and partition names.
//!
//! Boundaries are local wall-clock times (midnights, or hours) converted to instants. Where a local time does
//! not exist (a DST gap, e.g. midnight on a day São Paulo sprang forward) the boundary is the first valid
//! instant after it; where it exists twice (a DST overlap) it is the earlier instant. So boundaries are always
//! strictly increasing and partitions are contiguous, whatever the zone.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

use crate::schema::MAX_IDENTIFIER_BYTES;

/// The length of one time-range partition.
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Period {
    /// From a local hour to the next.
    #[sea_orm(string_value = "hour")]
    Hour,
    /// From a local midnight to the next.
    #[sea_orm(string_value = "day")]
    Day,
    /// From a Monday midnight to the next.
    #[sea_orm(string_value = "week")]
    Week,
    /// From the 1st of a month to the 1st of the next.
    #[sea_orm(string_value = "month")]
    Month,
    /// From the 1st of January, April, July or October to the next of them.
    #[sea_orm(string_value = "quarter")]
    Quarter,
    /// From January 1st to the next.
    #[sea_orm(string_value = "year")]
    Year,
}

/// The instant at which a local wall-clock time happens in `tz`: the earlier one when it happens twice, the
/// first valid instant after it when it does not happen at all.
pub fn local_to_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => first_instant_at_or_after(tz, local),
    }
}

/// The smallest instant whose local time in `tz` is at or after `local`. Offsets lie within ±26 h, so the
/// answer is within `local ± 26 h` read as UTC; within that window local time is monotonic around a gap.
fn first_instant_at_or_after(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let window = 26 * 3600;
    let target = local.and_utc().timestamp();
    let (mut lo, mut hi) = (target - window, target + window); // local(lo) < local <= local(hi)
    let local_at =
        |secs: i64| DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&tz).naive_local());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local_at(mid).is_some_and(|l| l >= local) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn midnight(date: NaiveDate) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN)
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

fn quarter_start(date: NaiveDate) -> NaiveDate {
    let month0 = date.month0() - date.month0() % 3;
    NaiveDate::from_ymd_opt(date.year(), month0 + 1, 1).unwrap_or(date)
}

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Period; 6] = [
        Period::Hour,
        Period::Day,
        Period::Week,
        Period::Month,
        Period::Quarter,
        Period::Year,
    ];

    /// The lowercase name (`"month"`), as stored in `partition_config.period`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }

    /// The local wall-clock start of the period containing the local time `local`.
    fn floor_local(self, local: NaiveDateTime) -> NaiveDateTime {
        let date = local.date();
        match self {
            Period::Hour => {
                date.and_time(NaiveTime::from_hms_opt(local.hour(), 0, 0).unwrap_or(NaiveTime::MIN))
            }
            Period::Day => midnight(date),
            Period::Week => {
                midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))
            }
            Period::Month => midnight(first_of_month(date)),
            Period::Quarter => midnight(quarter_start(date)),
            Period::Year => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)),
        }
    }

    /// The first local boundary strictly after the local wall-clock time `local`.
    fn next_local(self, local: NaiveDateTime) -> NaiveDateTime {
        let date = local.date();
        match self {
            Period::Hour => self.floor_local(local) + Duration::hours(1),
            Period::Day => midnight(date + Duration::days(1)),
            // The first Monday on or after the next day.
            Period::Week => {
                let next = date + Duration::days(1);
                let ahead = (7 - next.weekday().num_days_from_monday()) % 7;
                midnight(next + Duration::days(i64::from(ahead)))
            }
            Period::Month => midnight(add_months(first_of_month(date), 1)),
            Period::Quarter => midnight(add_months(quarter_start(date), 3)),
            Period::Year => {
                midnight(NaiveDate::from_ymd_opt(date.year() + 1, 1, 1).unwrap_or(NaiveDate::MAX))
            }
        }
    }

    /// The start of the period containing `now`, in `tz`: the first partition of a table starts here.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use sea_orm_pg_partitioning::calendar::Period;
    ///
    /// let now = Utc.with_ymd_and_hms(2024, 2, 29, 15, 0, 0).unwrap(); // a Thursday
    /// let tz = chrono_tz::Asia::Shanghai;
    /// assert_eq!(Period::Week.start(now, tz), Utc.with_ymd_and_hms(2024, 2, 25, 16, 0, 0).unwrap()); // Mon 00:00 +08
    /// assert_eq!(Period::Month.start(now, tz), Utc.with_ymd_and_hms(2024, 1, 31, 16, 0, 0).unwrap()); // Feb 1st 00:00 +08
    /// ```
    pub fn start(self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&tz).naive_local();
        let start = local_to_instant(tz, self.floor_local(local));
        // In a DST overlap the floor's earlier instant may still be after `now`'s floor, never after `now`.
        start.min(now)
    }

    /// The end of a partition starting at `start`: the next boundary of this period strictly after it
    /// (day: next midnight; week: first Monday on or after the next day; month: 1st of the next month; ...).
    /// After a period change, partitions thus stay contiguous and re-align to the calendar.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use sea_orm_pg_partitioning::calendar::Period;
    ///
    /// // A weekly partition starting on Saturday the 1st ends on Monday the 3rd.
    /// let saturday = Utc.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).unwrap();
    /// assert_eq!(Period::Week.end(saturday, chrono_tz::UTC), Utc.with_ymd_and_hms(2022, 1, 3, 0, 0, 0).unwrap());
    /// ```
    pub fn end(self, start: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let mut local = start.with_timezone(&tz).naive_local();
        loop {
            let next = self.next_local(local);
            let instant = local_to_instant(tz, next);
            if instant > start || next >= NaiveDateTime::MAX - Duration::days(400) {
                return instant.max(start + Duration::seconds(1));
            }
            // The next local boundary fell into a gap that ends at or before `start`: look further.
            local = next;
        }
    }

    /// `now` moved back by `count` periods in `tz` (calendar arithmetic: a month back from March 31st is the
    /// last day of February). Partitions that end before this are due for the rule-based detach.
    pub fn shift_back(self, now: DateTime<Utc>, count: u32, tz: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&tz).naive_local();
        let back = |months: u32| {
            local
                .checked_sub_months(Months::new(months))
                .unwrap_or(NaiveDateTime::MIN)
        };
        let shifted = match self {
            Period::Hour => return now - Duration::hours(i64::from(count)),
            Period::Day => local - Duration::days(i64::from(count)),
            Period::Week => local - Duration::weeks(i64::from(count)),
            Period::Month => back(count),
            Period::Quarter => back(count.saturating_mul(3)),
            Period::Year => back(count.saturating_mul(12)),
        };
        local_to_instant(tz, shifted)
    }

    /// How the local dates of a partition's bounds are written into its name.
    fn name_format(self) -> &'static str {
        match self {
            Period::Hour => "%Y-%m-%d_%H",
            _ => "%Y-%m-%d",
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown period {s:?}: use hour, day, week, month, quarter or year")
            })
    }
}

/// The name of the partition of `table` for `[start, end)`: `{table}_{start}_{end}` with local dates
/// (`%Y-%m-%d`, plus `_%H` for hourly partitions), as the original did.
///
/// PostgreSQL keeps 63 bytes of a name. A longer name keeps its date suffix whole and shortens the table part,
/// adding 8 hex digits of a hash of the full table name, so names stay unique and stable:
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use sea_orm_pg_partitioning::calendar::{Period, partition_name};
///
/// let (start, end) = (Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(), Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap());
/// assert_eq!(partition_name("event", start, end, Period::Month, chrono_tz::UTC), "event_2024-01-01_2024-02-01");
/// let long = "a_table_name_that_is_much_longer_than_postgres_allows";
/// let name = partition_name(long, start, end, Period::Month, chrono_tz::UTC);
/// assert_eq!(name.len(), 63);
/// assert!(name.starts_with("a_table_name_that_is_much_lon") && name.ends_with("_2024-01-01_2024-02-01"));
/// ```
pub fn partition_name(
    table: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    period: Period,
    tz: Tz,
) -> String {
    let format = period.name_format();
    let suffix = format!(
        "_{}_{}",
        start.with_timezone(&tz).format(format),
        end.with_timezone(&tz).format(format)
    );
    fit_name(table, &suffix)
}

/// `{base}{suffix}`, or when longer than 63 bytes `{base cut}_{hash(base)}{suffix}`.
pub(crate) fn fit_name(base: &str, suffix: &str) -> String {
    let full = format!("{base}{suffix}");
    if full.len() <= MAX_IDENTIFIER_BYTES {
        return full;
    }
    let hash = format!("_{:08x}", fnv1a(base.as_bytes()) as u32);
    let room = MAX_IDENTIFIER_BYTES.saturating_sub(suffix.len() + hash.len());
    let mut cut = room.min(base.len());
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{hash}{suffix}", &base[..cut])
}

/// FNV-1a, 64 bit: stable across runs, platforms and versions.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::Sao_Paulo, Asia::Shanghai, Europe::Berlin, UTC};

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn local(tz: Tz, t: DateTime<Utc>) -> String {
        t.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string()
    }

    #[test]
    fn first_partitions_start_at_the_current_period() {
        let now = utc(2024, 2, 29, 15, 30); // Thursday, leap day; 23:30 in Shanghai
        assert_eq!(
            local(Shanghai, Period::Hour.start(now, Shanghai)),
            "2024-02-29 23:00:00 +08:00"
        );
        assert_eq!(
            local(Shanghai, Period::Day.start(now, Shanghai)),
            "2024-02-29 00:00:00 +08:00"
        );
        assert_eq!(
            local(Shanghai, Period::Week.start(now, Shanghai)),
            "2024-02-26 00:00:00 +08:00"
        );
        assert_eq!(
            local(Shanghai, Period::Month.start(now, Shanghai)),
            "2024-02-01 00:00:00 +08:00"
        );
        assert_eq!(
            local(Shanghai, Period::Quarter.start(now, Shanghai)),
            "2024-01-01 00:00:00 +08:00"
        );
        assert_eq!(
            local(Shanghai, Period::Year.start(now, Shanghai)),
            "2024-01-01 00:00:00 +08:00"
        );
        // 16:30 UTC is already March 1st in Shanghai.
        let later = utc(2024, 2, 29, 16, 30);
        assert_eq!(
            local(Shanghai, Period::Month.start(later, Shanghai)),
            "2024-03-01 00:00:00 +08:00"
        );
        assert_eq!(
            local(Shanghai, Period::Quarter.start(later, Shanghai)),
            "2024-01-01 00:00:00 +08:00"
        );
    }

    #[test]
    fn ends_follow_the_calendar_across_month_ends_and_leap_years() {
        let end = |p: Period, s| local(UTC, p.end(s, UTC));
        assert_eq!(
            end(Period::Day, utc(2024, 2, 28, 0, 0)),
            "2024-02-29 00:00:00 +00:00"
        );
        assert_eq!(
            end(Period::Day, utc(2023, 2, 28, 0, 0)),
            "2023-03-01 00:00:00 +00:00"
        );
        assert_eq!(
            end(Period::Month, utc(2024, 1, 31, 0, 0)),
            "2024-02-01 00:00:00 +00:00"
        );
        assert_eq!(
            end(Period::Month, utc(2024, 12, 1, 0, 0)),
            "2025-01-01 00:00:00 +00:00"
        );
        assert_eq!(
            end(Period::Quarter, utc(2024, 11, 1, 0, 0)),
            "2025-01-01 00:00:00 +00:00"
        );
        assert_eq!(
            end(Period::Year, utc(2024, 2, 29, 0, 0)),
            "2025-01-01 00:00:00 +00:00"
        );
        assert_eq!(
            end(Period::Hour, utc(2024, 2, 29, 23, 0)),
            "2024-03-01 00:00:00 +00:00"
        );
        // Weeks: the first Monday on or after the next day.
        assert_eq!(
            end(Period::Week, utc(2022, 1, 1, 0, 0)),
            "2022-01-03 00:00:00 +00:00"
        ); // Sat -> Mon
        assert_eq!(
            end(Period::Week, utc(2022, 1, 2, 0, 0)),
            "2022-01-03 00:00:00 +00:00"
        ); // Sun -> Mon
        assert_eq!(
            end(Period::Week, utc(2022, 1, 3, 0, 0)),
            "2022-01-10 00:00:00 +00:00"
        ); // Mon -> Mon
        // A start that is not on a boundary (after a period change) ends on the next boundary.
        assert_eq!(
            end(Period::Month, utc(2024, 3, 13, 0, 0)),
            "2024-04-01 00:00:00 +00:00"
        );
        assert_eq!(
            end(Period::Day, utc(2024, 3, 13, 17, 0)),
            "2024-03-14 00:00:00 +00:00"
        );
    }

    #[test]
    fn berlin_days_and_hours_across_dst() {
        // 2024-03-31: 02:00 -> 03:00 (CET -> CEST); 2024-10-27: 03:00 -> 02:00.
        let spring = Period::Day.start(utc(2024, 3, 31, 12, 0), Berlin);
        assert_eq!(local(Berlin, spring), "2024-03-31 00:00:00 +01:00");
        let end = Period::Day.end(spring, Berlin);
        assert_eq!(local(Berlin, end), "2024-04-01 00:00:00 +02:00");
        assert_eq!(end - spring, Duration::hours(23));
        let autumn = Period::Day.start(utc(2024, 10, 27, 12, 0), Berlin);
        assert_eq!(
            Period::Day.end(autumn, Berlin) - autumn,
            Duration::hours(25)
        );

        // Hours: 02:00 does not exist in spring; the partition from 01:00 ends at 03:00 CEST.
        let one = local_to_instant(
            Berlin,
            NaiveDate::from_ymd_opt(2024, 3, 31)
                .unwrap()
                .and_hms_opt(1, 0, 0)
                .unwrap(),
        );
        let next = Period::Hour.end(one, Berlin);
        assert_eq!(local(Berlin, next), "2024-03-31 03:00:00 +02:00");
        assert_eq!(next - one, Duration::hours(1));
        // Autumn: 02:00 happens twice; the boundary is the earlier one, the hour after it runs to 03:00 CET.
        let two = local_to_instant(
            Berlin,
            NaiveDate::from_ymd_opt(2024, 10, 27)
                .unwrap()
                .and_hms_opt(2, 0, 0)
                .unwrap(),
        );
        assert_eq!(local(Berlin, two), "2024-10-27 02:00:00 +02:00");
        let after = Period::Hour.end(two, Berlin);
        assert_eq!(local(Berlin, after), "2024-10-27 03:00:00 +01:00");
        assert_eq!(after - two, Duration::hours(2));
    }

    #[test]
    fn sao_paulo_midnight_that_did_not_exist() {
        // 2018-11-04 00:00 did not exist in São Paulo: clocks went from 23:59:59 -03 to 01:00 -02.
        let day = Period::Day.start(utc(2018, 11, 4, 12, 0), Sao_Paulo);
        assert_eq!(local(Sao_Paulo, day), "2018-11-04 01:00:00 -02:00");
        assert_eq!(day, utc(2018, 11, 4, 3, 0));
        // The partition before it ends there too: contiguous.
        let before = Period::Day.start(utc(2018, 11, 3, 12, 0), Sao_Paulo);
        assert_eq!(Period::Day.end(before, Sao_Paulo), day);
        assert_eq!(day - before, Duration::hours(24));
        // Monthly partitions are unaffected; weekly ones starting that Sunday are not either.
        let month = Period::Month.start(utc(2018, 11, 20, 0, 0), Sao_Paulo);
        assert_eq!(local(Sao_Paulo, month), "2018-11-01 00:00:00 -03:00");
        // 2019-02-17 00:00 -02 became 2019-02-16 23:00 -03: the 16th lasted 25 hours.
        let sixteenth = Period::Day.start(utc(2019, 2, 16, 12, 0), Sao_Paulo);
        let seventeenth = Period::Day.end(sixteenth, Sao_Paulo);
        assert_eq!(local(Sao_Paulo, seventeenth), "2019-02-17 00:00:00 -03:00");
        assert_eq!(seventeenth - sixteenth, Duration::hours(25));
        // Its 23:00 happened twice: an hourly boundary there is the earlier instant.
        let eleven = NaiveDate::from_ymd_opt(2019, 2, 16)
            .unwrap()
            .and_hms_opt(23, 0, 0)
            .unwrap();
        assert_eq!(
            local(Sao_Paulo, local_to_instant(Sao_Paulo, eleven)),
            "2019-02-16 23:00:00 -02:00"
        );
    }

    #[test]
    fn shanghai_has_no_dst() {
        let day = Period::Day.start(utc(2024, 6, 1, 0, 0), Shanghai);
        assert_eq!(Period::Day.end(day, Shanghai) - day, Duration::hours(24));
        assert_eq!(local(Shanghai, day), "2024-06-01 00:00:00 +08:00");
    }

    #[test]
    fn retention_threshold_moves_back_by_calendar_periods() {
        let now = utc(2024, 3, 31, 12, 0);
        assert_eq!(
            Period::Month.shift_back(now, 1, UTC),
            utc(2024, 2, 29, 12, 0)
        );
        assert_eq!(
            Period::Quarter.shift_back(now, 1, UTC),
            utc(2023, 12, 31, 12, 0)
        );
        assert_eq!(
            Period::Year.shift_back(now, 1, UTC),
            utc(2023, 3, 31, 12, 0)
        );
        assert_eq!(
            Period::Week.shift_back(now, 2, UTC),
            utc(2024, 3, 17, 12, 0)
        );
        assert_eq!(Period::Day.shift_back(now, 1, UTC), utc(2024, 3, 30, 12, 0));
        assert_eq!(Period::Hour.shift_back(now, 5, UTC), utc(2024, 3, 31, 7, 0));
        // One local day back across the Berlin spring change is 23 hours.
        let berlin = utc(2024, 4, 1, 10, 0);
        assert_eq!(
            berlin - Period::Day.shift_back(berlin, 1, Berlin),
            Duration::hours(24)
        );
        let just_after = utc(2024, 3, 31, 10, 0); // 12:00 CEST
        assert_eq!(
            just_after - Period::Day.shift_back(just_after, 1, Berlin),
            Duration::hours(23)
        );
    }

    #[test]
    fn names_are_local_dates_and_fit_in_63_bytes() {
        let (start, end) = (utc(2023, 12, 31, 16, 0), utc(2024, 1, 31, 16, 0));
        assert_eq!(
            partition_name("event", start, end, Period::Month, Shanghai),
            "event_2024-01-01_2024-02-01"
        );
        assert_eq!(
            partition_name(
                "event",
                utc(2024, 1, 1, 5, 0),
                utc(2024, 1, 1, 6, 0),
                Period::Hour,
                UTC
            ),
            "event_2024-01-01_05_2024-01-01_06"
        );
        let long = "ü".repeat(40);
        let a = partition_name(&long, start, end, Period::Month, UTC);
        assert!(
            a.len() <= 63 && a.ends_with("_2023-12-31_2024-01-31"),
            "{a}"
        );
        let other = format!("{}x", "ü".repeat(40));
        assert_ne!(
            partition_name(&other, start, end, Period::Month, UTC),
            a,
            "different tables, different names"
        );
        assert_eq!(
            partition_name(&long, start, end, Period::Month, UTC),
            a,
            "stable"
        );
        let exactly = "t".repeat(63 - 22);
        assert_eq!(
            partition_name(&exactly, start, end, Period::Month, UTC).len(),
            63
        );
        assert!(partition_name(&exactly, start, end, Period::Month, UTC).starts_with(&exactly));
    }

    #[test]
    fn periods_parse_and_print() {
        for p in Period::ALL {
            assert_eq!(p.as_str().parse::<Period>(), Ok(p));
        }
        assert!("fortnight".parse::<Period>().is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn zone() -> impl Strategy<Value = Tz> {
            prop::sample::select(vec![
                UTC,
                Berlin,
                Sao_Paulo,
                Shanghai,
                chrono_tz::America::New_York,
                chrono_tz::Australia::Lord_Howe, // 30-minute DST
                chrono_tz::Asia::Kathmandu,      // +05:45
                chrono_tz::Pacific::Apia,        // skipped 2011-12-30 entirely
                chrono_tz::America::Santiago,
            ])
        }

        fn period() -> impl Strategy<Value = Period> {
            prop::sample::select(Period::ALL.to_vec())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// From the first partition on, each partition starts where the previous ended, is non-empty, and
            /// (being created after a period change or not) ends on a local boundary of its period.
            #[test]
            fn partitions_are_contiguous_non_overlapping_and_aligned(
                secs in 0i64..2_000_000_000,
                tz in zone(),
                first in period(),
                then in period(),
            ) {
                let now = DateTime::from_timestamp(secs, 0).unwrap();
                let start = first.start(now, tz);
                prop_assert!(start <= now);
                let mut cursor = start;
                let mut ends = Vec::new();
                for i in 0..6 {
                    let p = if i < 3 { first } else { then };
                    let end = p.end(cursor, tz);
                    prop_assert!(end > cursor, "{p:?} partition from {cursor} is empty");
                    // Aligned: the end is the start of its own period, i.e. a boundary.
                    prop_assert_eq!(p.start(end, tz), end, "{:?} end {} in {} is not a boundary", p, end, tz);
                    ends.push(end);
                    cursor = end;
                }
                prop_assert!(first.end(start, tz) > now, "the first partition contains now");
                prop_assert!(ends.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
