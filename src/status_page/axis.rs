//! The key axis of a range table's timeline: a linear scale over instants or integers, its ticks and their
//! labels (instants in the table's time zone).

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;

use crate::calendar::Period;
use crate::service::Edge;

/// At most this many labelled ticks on an axis.
const MAX_TICKS: f64 = 10.0;

/// A linear map from key values to x positions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    lo: f64,
    hi: f64,
    left: f64,
    width: f64,
}

impl Scale {
    /// A scale over `[lo, hi]` (widened by 2 % on each side; a point becomes a unit span) onto
    /// `[left, left + width]`.
    pub fn new(lo: f64, hi: f64, left: f64, width: f64) -> Self {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, lo + 1.0)
        };
        let pad = (hi - lo) * 0.02;
        Self {
            lo: lo - pad,
            hi: hi + pad,
            left,
            width,
        }
    }

    /// The x position of `value`, clamped to the plot.
    pub fn x(&self, value: f64) -> f64 {
        let t = ((value - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        self.left + t * self.width
    }

    /// The domain, padded.
    pub fn domain(&self) -> (f64, f64) {
        (self.lo, self.hi)
    }
}

/// The axis value of an edge: seconds since the epoch, or the integer.
pub(super) fn value(edge: Edge) -> f64 {
    match edge {
        Edge::Time(t) => t.timestamp() as f64,
        Edge::Int(i) => i as f64,
    }
}

/// An edge for reading: an instant in `tz` (to the minute), or the integer.
pub(super) fn label(edge: Edge, tz: Tz) -> String {
    match edge {
        Edge::Time(t) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
        Edge::Int(i) => i.to_string(),
    }
}

/// Ticks `(value, label)` over the scale's domain: calendar boundaries in `tz` for instants, round numbers
/// for integers.
pub(super) fn ticks(scale: &Scale, time: bool, tz: Tz) -> Vec<(f64, String)> {
    let (lo, hi) = scale.domain();
    if time {
        time_ticks(lo, hi, tz)
    } else {
        int_ticks(lo, hi)
    }
}

fn int_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let raw = (hi - lo) / MAX_TICKS;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
        .max(1.0);
    let mut out = Vec::new();
    let mut v = (lo / step).ceil() * step;
    while v <= hi && out.len() < 2 * MAX_TICKS as usize {
        // `+ 0.0` turns a negative zero into zero, which prints without a sign.
        out.push((v, format!("{:.0}", v + 0.0)));
        v += step;
    }
    out
}

/// The tick period and how many periods each tick spans, for a span of `seconds`.
fn tick_unit(seconds: f64) -> (Period, u32) {
    const CHOICES: [(Period, u32, f64); 12] = [
        (Period::Hour, 1, 3_600.0),
        (Period::Hour, 3, 3_600.0),
        (Period::Hour, 6, 3_600.0),
        (Period::Hour, 12, 3_600.0),
        (Period::Day, 1, 86_400.0),
        (Period::Day, 2, 86_400.0),
        (Period::Week, 1, 604_800.0),
        (Period::Week, 2, 604_800.0),
        (Period::Month, 1, 2_629_746.0),
        (Period::Quarter, 1, 7_889_238.0),
        (Period::Month, 6, 2_629_746.0),
        (Period::Year, 1, 31_556_952.0),
    ];
    for (period, every, unit) in CHOICES {
        if seconds / (unit * f64::from(every)) <= MAX_TICKS {
            return (period, every);
        }
    }
    let years = seconds / 31_556_952.0 / MAX_TICKS;
    let every = [2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
        .into_iter()
        .find(|e| *e >= years)
        .unwrap_or(1000.0);
    (Period::Year, every as u32)
}

fn time_ticks(lo: f64, hi: f64, tz: Tz) -> Vec<(f64, String)> {
    let (Some(from), Some(to)) = (
        DateTime::<Utc>::from_timestamp(lo as i64, 0),
        DateTime::<Utc>::from_timestamp(hi as i64, 0),
    ) else {
        return Vec::new();
    };
    let (period, every) = tick_unit(hi - lo);
    let format = match period {
        Period::Hour => "%m-%d %H:00",
        Period::Day | Period::Week => "%Y-%m-%d",
        Period::Month | Period::Quarter => "%Y-%m",
        Period::Year => "%Y",
    };
    let mut out = Vec::new();
    let mut at = period.start(from, tz);
    let mut n: u32 = 0;
    // Bounded: at most MAX_TICKS × `every` boundaries lie in the domain, plus the one before it.
    for _ in 0..(every.saturating_mul(2 * MAX_TICKS as u32) + 2) {
        if at > to {
            break;
        }
        if at >= from {
            let local = at.with_timezone(&tz);
            if on_tick(local.naive_local(), period, every, n) {
                out.push((at.timestamp() as f64, local.format(format).to_string()));
            }
            n += 1;
        }
        at = period.end(at, tz);
    }
    out
}

/// Whether the `n`-th boundary in the domain, at `local`, carries a tick: multiples of `every` on the
/// calendar (hours of the day, months of the year, years), so ticks stay put as the domain moves.
fn on_tick(local: NaiveDateTime, period: Period, every: u32, n: u32) -> bool {
    match period {
        Period::Hour => local.hour().is_multiple_of(every),
        Period::Month | Period::Quarter => local.month0().is_multiple_of(every),
        Period::Year => local.year().unsigned_abs().is_multiple_of(every),
        Period::Day | Period::Week => n.is_multiple_of(every),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn scale_maps_the_padded_domain_onto_the_plot() {
        let s = Scale::new(0.0, 100.0, 10.0, 1000.0);
        assert!((s.x(0.0) - (10.0 + 1000.0 * 2.0 / 104.0)).abs() < 1e-9);
        assert!(s.x(-1e9) >= 10.0 && s.x(1e9) <= 1010.0);
        let point = Scale::new(5.0, 5.0, 0.0, 100.0);
        assert!((point.x(5.0) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn time_ticks_fall_on_local_boundaries() {
        let tz = chrono_tz::Europe::Berlin;
        let lo = Utc.with_ymd_and_hms(2024, 1, 10, 0, 0, 0).unwrap();
        let hi = Utc.with_ymd_and_hms(2024, 9, 10, 0, 0, 0).unwrap();
        let ticks = time_ticks(lo.timestamp() as f64, hi.timestamp() as f64, tz);
        assert_eq!(ticks.first().map(|t| t.1.as_str()), Some("2024-02"));
        assert!(ticks.len() <= 10, "{ticks:?}");
        // 1 February 00:00 in Berlin is 31 January 23:00 UTC.
        let feb = Utc.with_ymd_and_hms(2024, 1, 31, 23, 0, 0).unwrap();
        assert_eq!(ticks[0].0, feb.timestamp() as f64);
        // Across the March DST change the boundaries stay local midnights.
        let at = |d: u32, h: u32| {
            let m = if d > 20 { 3 } else { 4 };
            Utc.with_ymd_and_hms(2024, m, d, h, 0, 0)
                .unwrap()
                .timestamp() as f64
        };
        let days = time_ticks(at(28, 12), at(3, 12), tz);
        let labels: Vec<&str> = days.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(
            labels,
            [
                "2024-03-29",
                "2024-03-30",
                "2024-03-31",
                "2024-04-01",
                "2024-04-02",
                "2024-04-03"
            ]
        );
        assert_eq!(days[3].0 - days[2].0, 23.0 * 3600.0);
        // Hours: on multiples of the step in local time, across the change too.
        let hours = time_ticks(at(30, 12), at(1, 12), tz);
        let labels: Vec<&str> = hours.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(
            labels,
            [
                "03-30 18:00",
                "03-31 00:00",
                "03-31 06:00",
                "03-31 12:00",
                "03-31 18:00",
                "04-01 00:00",
                "04-01 06:00",
                "04-01 12:00"
            ]
        );
    }

    #[test]
    fn long_spans_and_integers_get_few_round_ticks() {
        let century = time_ticks(0.0, 100.0 * 31_556_952.0, chrono_tz::UTC);
        assert!(!century.is_empty() && century.len() <= 11, "{century:?}");
        let ints = int_ticks(0.0, 1_000_000.0);
        assert_eq!(ints[1].1, "100000");
        assert_eq!(int_ticks(-0.4, 10.0)[0].1, "0");
        assert!(ints.len() <= 11);
        assert_eq!(int_ticks(3.0, 4.0).len(), 2);
    }
}
