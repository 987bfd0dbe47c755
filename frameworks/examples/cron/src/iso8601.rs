//! ISO 8601 repeating intervals as Chronos takes them:
//! `R[n]/<start>/<period>`, e.g. `R/2026-01-01T00:00:00Z/PT1M` (forever,
//! every minute) or `R3/2026-01-01T12:00:00Z/P1DT12H` (three times).
//!
//! Start times are UTC (`Z` or `+00:00`, or an explicit `±hh:mm` offset),
//! with optional fractional seconds. Periods take weeks, days, hours,
//! minutes and seconds; calendar months and years (whose length varies) are
//! refused rather than approximated. Times are milliseconds since the Unix
//! epoch. Pure code, no date crate: the civil-date arithmetic is small.

/// Why a schedule is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule '{text}': {reason}")]
pub struct ScheduleError {
    pub text: String,
    pub reason: String,
}

/// A repeating interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `None`: repeats forever.
    pub repetitions: Option<u64>,
    pub start_ms: i64,
    pub period_ms: i64,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} '{s}'"));
    }
    s.parse().map_err(|_| format!("bad {what} '{s}'"))
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)` to epoch milliseconds.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let (date, time) = text
        .split_once('T')
        .ok_or_else(|| "the start time needs 'T' between date and time".to_string())?;
    let mut d = date.split('-');
    let (Some(y), Some(mo), Some(da), None) = (d.next(), d.next(), d.next(), d.next()) else {
        return Err(format!("bad date '{date}' (want YYYY-MM-DD)"));
    };
    if y.len() != 4 || mo.len() != 2 || da.len() != 2 {
        return Err(format!("bad date '{date}' (want YYYY-MM-DD)"));
    }
    let (y, mo, da): (i64, u32, u32) = (num(y, "year")?, num(mo, "month")?, num(da, "day")?);
    if !(1..=12).contains(&mo) {
        return Err(format!("month {mo} out of range"));
    }
    if da < 1 || da > days_in_month(y, mo) {
        return Err(format!("day {da} out of range"));
    }
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0i64)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, off) = time.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..]
            .split_once(':')
            .ok_or_else(|| format!("bad offset '{off}' (want ±hh:mm)"))?;
        let (oh, om): (i64, i64) = (num(oh, "offset hour")?, num(om, "offset minute")?);
        if oh > 23 || om > 59 {
            return Err(format!("offset '{off}' out of range"));
        }
        (c, sign * (oh * 60 + om))
    } else {
        return Err("the start time needs a zone (Z or ±hh:mm)".into());
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.split(':');
    let (Some(h), Some(mi), Some(s), None) = (t.next(), t.next(), t.next(), t.next()) else {
        return Err(format!("bad time '{clock}' (want hh:mm:ss)"));
    };
    let (h, mi, s): (i64, i64, i64) = (num(h, "hour")?, num(mi, "minute")?, num(s, "second")?);
    if h > 23 || mi > 59 || s > 59 {
        return Err(format!("time '{clock}' out of range"));
    }
    let millis = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        let v: i64 = num(&digits, "fraction")?;
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("bad fraction '{frac}'"));
        }
        v * 10i64.pow(3 - digits.len() as u32)
    };
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
    Ok(secs * 1000 + millis)
}

/// Parses `P[nW][nD][T[nH][nM][n[.f]S]]` to milliseconds.
pub fn parse_period(text: &str) -> Result<i64, String> {
    let rest = text
        .strip_prefix('P')
        .ok_or_else(|| format!("the period '{text}' must start with P"))?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    if rest.is_empty() || rest.ends_with('T') {
        return Err(format!("empty period '{text}'"));
    }
    let mut total: i64 = 0;
    let mut add = |part: &str, units: &[(char, i64)], calendar: &[char]| -> Result<(), String> {
        let mut n = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                n.push(c);
                continue;
            }
            if calendar.contains(&c) {
                return Err(format!(
                    "calendar periods ('{c}' in '{text}') are not supported; use W, D, H, M, S"
                ));
            }
            let unit = units
                .iter()
                .find(|(u, _)| *u == c)
                .map(|(_, ms)| *ms)
                .ok_or_else(|| format!("unknown unit '{c}' in '{text}'"))?;
            let v: f64 = n
                .parse()
                .map_err(|_| format!("bad number before '{c}' in '{text}'"))?;
            if c != 'S' && n.contains('.') {
                return Err(format!("only seconds may be fractional in '{text}'"));
            }
            let ms = v * unit as f64;
            if !ms.is_finite() || ms > 1e15 {
                return Err(format!("period '{text}' too long"));
            }
            total += ms as i64;
            n.clear();
        }
        if !n.is_empty() {
            return Err(format!("a number without a unit in '{text}'"));
        }
        Ok(())
    };
    add(date, &[('W', 604_800_000), ('D', 86_400_000)], &['Y', 'M'])?;
    add(time, &[('H', 3_600_000), ('M', 60_000), ('S', 1000)], &[])?;
    if total <= 0 {
        return Err(format!("the period '{text}' must be positive"));
    }
    Ok(total)
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let err = |reason: String| ScheduleError {
            text: text.into(),
            reason,
        };
        let mut parts = text.split('/');
        let (Some(r), Some(start), Some(period), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err("want R[n]/<start>/<period>".into()));
        };
        let reps = r
            .strip_prefix('R')
            .ok_or_else(|| err(format!("'{r}' must be R or Rn")))?;
        let repetitions = if reps.is_empty() {
            None
        } else {
            Some(num::<u64>(reps, "repetition count").map_err(err)?)
        };
        Ok(Schedule {
            repetitions,
            start_ms: parse_time(start).map_err(err)?,
            period_ms: parse_period(period).map_err(err)?,
        })
    }

    /// The `k`-th run time (0-based), if the schedule has one.
    pub fn nth(&self, k: u64) -> Option<i64> {
        if self.repetitions.is_some_and(|n| k >= n) {
            return None;
        }
        let k = i64::try_from(k).ok()?;
        self.start_ms.checked_add(self.period_ms.checked_mul(k)?)
    }

    /// The index of the first run at or after `at_ms`.
    pub fn first_index_at_or_after(&self, at_ms: i64) -> u64 {
        if at_ms <= self.start_ms {
            return 0;
        }
        let k = (at_ms - self.start_ms + self.period_ms - 1) / self.period_ms;
        u64::try_from(k).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_match_known_epochs() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_time("2026-01-01T00:00:00Z").unwrap(),
            1_767_225_600_000
        );
        assert_eq!(
            parse_time("2000-02-29T12:30:15.25Z").unwrap(),
            951_827_415_250
        );
        assert_eq!(
            parse_time("2026-01-01T01:00:00+01:00").unwrap(),
            parse_time("2026-01-01T00:00:00Z").unwrap()
        );
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00",
            "26-01-01T00:00:00Z",
            "2026-01-01T00:00:00+1",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods() {
        assert_eq!(parse_period("PT1M").unwrap(), 60_000);
        assert_eq!(parse_period("P1DT12H").unwrap(), 129_600_000);
        assert_eq!(parse_period("P2W").unwrap(), 1_209_600_000);
        assert_eq!(parse_period("PT0.5S").unwrap(), 500);
        assert!(parse_period("P1M").unwrap_err().contains("calendar"));
        assert!(parse_period("P1Y").unwrap_err().contains("calendar"));
        for bad in ["T1M", "P", "PT", "PT0S", "PT5", "PT1X", "P1.5D"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repeating_intervals() {
        let s = Schedule::parse("R/2026-01-01T00:00:00Z/PT1M").unwrap();
        assert_eq!(s.repetitions, None);
        assert_eq!(s.nth(2), Some(s.start_ms + 120_000));
        assert_eq!(s.first_index_at_or_after(s.start_ms + 60_001), 2);
        assert_eq!(s.first_index_at_or_after(s.start_ms - 5), 0);
        let s = Schedule::parse("R2/2026-01-01T00:00:00Z/PT1H").unwrap();
        assert_eq!(s.nth(1), Some(s.start_ms + 3_600_000));
        assert_eq!(s.nth(2), None);
        for bad in [
            "2026-01-01T00:00:00Z/PT1M",
            "R/2026-01-01T00:00:00Z",
            "Rx/2026-01-01T00:00:00Z/PT1M",
            "R/x/PT1M",
            "R/2026-01-01T00:00:00Z/PT1M/x",
        ] {
            let e = Schedule::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
