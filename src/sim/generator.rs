//! The generated audit log: which events exist at a given moment, their ids and times.
//!
//! Nothing is stored per event. Event number `i` (0-based) has the id
//! `10_000 + 3i + h(seed, i) % 3`, so ids ascend with gaps of one to five, and its
//! content is a pure function of `(seed, i)`. The log holds
//! `events + floor(elapsed_seconds * trickle) + appended` events.
//!
//! Past events spread evenly, with jitter, over the 90 days before the epoch. A live
//! event is stamped with the moment it appeared: trickle event `k` at
//! `start + (k + 1) / trickle` seconds, appended events at the moment of their append.
//! The only state is the short list of appends.

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};

use crate::sim::content::{Content, ContentOptions, mix};
use crate::sim::server::lock;
use crate::sim::value::Event;

/// The id of the first event, give or take two.
pub(crate) const FIRST_ID: u64 = 10_000;

/// Most events one page holds.
pub(crate) const PAGE_SIZE: u64 = 1000;

const MICROS_PER_SECOND: i64 = 1_000_000;
const PAST_SPAN_MICROS: i64 = 90 * 86_400 * MICROS_PER_SECOND;
const ID_SALT: u64 = 0x1D;
const TIME_SALT: u64 = 0x71E;
const FORMAT_SALT: u64 = 0xF0A7;

/// Offsets of the "other offset" timestamp variant, in seconds east of UTC.
const OTHER_OFFSETS: [i32; 4] = [2 * 3600, -5 * 3600, 5 * 3600 + 1800, 9 * 3600];

/// The id of event number `index`.
pub(crate) fn event_id(seed: u64, index: u64) -> u64 {
    FIRST_ID + index * 3 + mix(seed, index, ID_SALT) % 3
}

/// How the log is laid out.
#[derive(Debug, Clone)]
pub(crate) struct LogOptions {
    pub past_events: u64,
    pub trickle: f64,
    /// End of the span of past events, in microseconds since the Unix epoch.
    pub epoch_micros: i64,
    pub timestamp_variants: bool,
    pub content: ContentOptions,
}

/// Events added at once by `POST /_sim/append`.
#[derive(Debug, Clone, Copy)]
struct Append {
    first_index: u64,
    count: u64,
    at_micros: i64,
    /// Events appended before this append.
    appended_before: u64,
}

/// Events appended in all.
fn appended(appends: &[Append]) -> u64 {
    appends
        .last()
        .map_or(0, |last| last.appended_before + last.count)
}

/// The whole log, past and live.
#[derive(Debug)]
pub(crate) struct Log {
    options: LogOptions,
    content: Content,
    started: Instant,
    started_micros: i64,
    appends: Mutex<Arc<Vec<Append>>>,
}

impl Log {
    pub(crate) fn new(options: LogOptions) -> Log {
        let content = Content::new(options.content.clone());
        let started_micros = Timestamp::now().as_microsecond();
        Log {
            options,
            content,
            started: Instant::now(),
            started_micros,
            appends: Mutex::default(),
        }
    }

    /// The log as it stands now. A snapshot is cheap and does not hold any lock.
    pub(crate) fn snapshot(&self) -> Snapshot<'_> {
        // The length is taken under the lock so that an append can never claim an index
        // that a snapshot already counted as a trickle event.
        let guard = lock(&self.appends);
        let appends = Arc::clone(&guard);
        let len = self.len_with(&appends);
        drop(guard);
        Snapshot {
            log: self,
            appends,
            len,
        }
    }

    /// Appends `count` events stamped now; returns the new length of the log.
    pub(crate) fn append(&self, count: u64) -> u64 {
        let mut appends = lock(&self.appends);
        let first_index = self.len_with(&appends);
        if count == 0 {
            return first_index;
        }

        let appended_before = appended(&appends);
        let at_micros = self.now_micros();
        let append = Append {
            first_index,
            count,
            at_micros,
            appended_before,
        };
        Arc::make_mut(&mut appends).push(append);
        first_index + count
    }

    fn len_with(&self, appends: &[Append]) -> u64 {
        self.options.past_events + self.trickled() + appended(appends)
    }

    /// Trickle events that have appeared so far.
    fn trickled(&self) -> u64 {
        let rate = self.options.trickle;
        if rate <= 0.0 {
            return 0;
        }
        (self.started.elapsed().as_secs_f64() * rate).floor() as u64
    }

    fn now_micros(&self) -> i64 {
        let elapsed = i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX);
        self.started_micros.saturating_add(elapsed)
    }

    fn past_micros(&self, index: u64) -> i64 {
        let past = i128::from(self.options.past_events.max(1));
        let spacing = PAST_SPAN_MICROS as i128 / past;
        let offset = i128::from(index) * PAST_SPAN_MICROS as i128 / past;
        let jitter = i128::from(mix(self.options.content.seed, index, TIME_SALT)) % spacing.max(1);
        self.options.epoch_micros - PAST_SPAN_MICROS + (offset + jitter) as i64
    }

    fn trickle_micros(&self, number: u64) -> i64 {
        let seconds = (number + 1) as f64 / self.options.trickle;
        self.started_micros + (seconds * MICROS_PER_SECOND as f64).ceil() as i64
    }
}

/// The log at one moment: its length is fixed for the life of the snapshot.
#[derive(Debug)]
pub(crate) struct Snapshot<'a> {
    log: &'a Log,
    appends: Arc<Vec<Append>>,
    len: u64,
}

impl Snapshot<'_> {
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn last_id(&self) -> Option<u64> {
        self.len.checked_sub(1).map(|last| self.id(last))
    }

    pub(crate) fn id(&self, index: u64) -> u64 {
        event_id(self.log.options.content.seed, index)
    }

    /// The indexes of the page that follows `from`: ids above it, or from it on when
    /// `inclusive`. Without `from`, the oldest page.
    pub(crate) fn page(&self, from: Option<u64>, inclusive: bool) -> Range<u64> {
        let start = match from {
            None => 0,
            Some(from) => {
                self.first_index_where(|id| if inclusive { id >= from } else { id > from })
            }
        };
        start..self.len.min(start.saturating_add(PAGE_SIZE))
    }

    /// The first index whose id satisfies `is_after`, which must be monotonic.
    fn first_index_where(&self, is_after: impl Fn(u64) -> bool) -> u64 {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let middle = low + (high - low) / 2;
            if is_after(self.id(middle)) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        low
    }

    pub(crate) fn event(&self, index: u64) -> Event {
        let created_at = self.created_at(index);
        self.log.content.event(index, self.id(index), created_at)
    }

    /// The JSON array of the events at `range`.
    pub(crate) fn page_json(&self, range: Range<u64>) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&Page {
            snapshot: self,
            range,
        })
    }

    fn created_at(&self, index: u64) -> String {
        let options = &self.log.options;
        let variant = if options.timestamp_variants {
            mix(options.content.seed, index, FORMAT_SALT)
        } else {
            0
        };
        format_timestamp(self.micros(index), variant)
    }

    /// When event `index` happened, in microseconds since the Unix epoch.
    fn micros(&self, index: u64) -> i64 {
        let log = self.log;
        if index < log.options.past_events {
            return log.past_micros(index);
        }

        let after = self
            .appends
            .partition_point(|append| append.first_index <= index);
        let appended_before = match after.checked_sub(1).map(|n| self.appends[n]) {
            Some(append) if index < append.first_index + append.count => return append.at_micros,
            Some(append) => append.appended_before + append.count,
            None => 0,
        };
        log.trickle_micros(index - log.options.past_events - appended_before)
    }
}

/// A page serialized event by event, without collecting the events first.
struct Page<'a, 'b> {
    snapshot: &'a Snapshot<'b>,
    range: Range<u64>,
}

impl Serialize for Page<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = usize::try_from(self.range.end - self.range.start).ok();
        let mut seq = serializer.serialize_seq(len)?;
        for index in self.range.clone() {
            seq.serialize_element(&self.snapshot.event(index))?;
        }
        seq.end()
    }
}

/// Formats an instant as one of the `created_at` variants; `variant % 5` picks it:
/// 0 seconds and `Z`, 1 milliseconds and `Z`, 2 microseconds and `Z`, 3 seconds and
/// `+00:00`, 4 seconds and another offset.
pub(crate) fn format_timestamp(micros: i64, variant: u64) -> String {
    let instant = Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH);
    let offset_seconds = match variant % 5 {
        4 => OTHER_OFFSETS[((variant / 5) % OTHER_OFFSETS.len() as u64) as usize],
        _ => 0,
    };
    let offset = Offset::from_seconds(offset_seconds).unwrap_or(Offset::UTC);
    let local = TimeZone::fixed(offset).to_datetime(instant);

    let mut text = String::with_capacity(32);
    let _ = write!(
        text,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    );
    let nanos = local.subsec_nanosecond();
    let _ = match variant % 5 {
        1 => write!(text, ".{:03}Z", nanos / 1_000_000),
        2 => write!(text, ".{:06}Z", nanos / 1_000),
        3 | 4 => write_offset(&mut text, offset_seconds),
        _ => write!(text, "Z"),
    };
    text
}

fn write_offset(text: &mut String, seconds: i32) -> std::fmt::Result {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    write!(text, "{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(past_events: u64, trickle: f64) -> Log {
        let content = ContentOptions {
            seed: 3,
            hostile_every: 0,
            oversized_every: 0,
            unknown_fields: true,
        };
        let epoch_micros = 1_700_000_000 * MICROS_PER_SECOND;
        let options = LogOptions {
            past_events,
            trickle,
            epoch_micros,
            timestamp_variants: true,
            content,
        };
        Log::new(options)
    }

    #[test]
    fn ids_ascend_with_gaps() {
        let ids: Vec<u64> = (0..10_000).map(|index| event_id(5, index)).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(ids.windows(2).any(|pair| pair[1] - pair[0] > 1));
    }

    #[test]
    fn page_after_a_gap_starts_at_the_next_id() {
        let log = log(5000, 0.0);
        let snapshot = log.snapshot();
        let gap = (0..4999).find(|&index| snapshot.id(index + 1) - snapshot.id(index) > 1);
        let Some(index) = gap else {
            panic!("no gap in 5000 ids")
        };
        let from = snapshot.id(index) + 1;

        assert_eq!(snapshot.page(Some(from), false).start, index + 1);
        assert_eq!(snapshot.page(Some(from), true).start, index + 1);
        assert_eq!(snapshot.page(Some(snapshot.id(index)), true).start, index);
    }

    #[test]
    fn past_times_ascend_within_ninety_days() {
        let log = log(100_000, 0.0);
        let snapshot = log.snapshot();
        let times: Vec<i64> = (0..100_000).map(|index| snapshot.micros(index)).collect();

        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(times[0] >= log.options.epoch_micros - PAST_SPAN_MICROS);
        assert!(times[99_999] < log.options.epoch_micros);
    }

    #[test]
    fn appends_interleave_with_the_trickle() {
        let log = log(10, 0.0);
        assert_eq!(log.append(3), 13);
        assert_eq!(log.append(0), 13);
        assert_eq!(log.append(2), 15);

        let snapshot = log.snapshot();
        assert_eq!(snapshot.len(), 15);
        assert!(snapshot.micros(10) >= log.started_micros);
        assert!(snapshot.micros(14) >= snapshot.micros(12));
    }

    #[test]
    fn trickle_times_follow_the_rate() {
        let log = log(0, 4.0);
        assert_eq!(log.trickle_micros(0) - log.started_micros, 250_000);
        assert_eq!(log.trickle_micros(3) - log.started_micros, 1_000_000);
    }

    #[test]
    fn timestamp_variants() {
        let micros = 1_523_269_842_123_456;
        assert_eq!(format_timestamp(micros, 0), "2018-04-09T10:30:42Z");
        assert_eq!(format_timestamp(micros, 1), "2018-04-09T10:30:42.123Z");
        assert_eq!(format_timestamp(micros, 2), "2018-04-09T10:30:42.123456Z");
        assert_eq!(format_timestamp(micros, 3), "2018-04-09T10:30:42+00:00");
        assert_eq!(format_timestamp(micros, 4), "2018-04-09T12:30:42+02:00");
        assert_eq!(format_timestamp(micros, 9), "2018-04-09T05:30:42-05:00");
        assert_eq!(format_timestamp(micros, 14), "2018-04-09T16:00:42+05:30");
        assert_eq!(format_timestamp(micros, 19), "2018-04-09T19:30:42+09:00");
    }

    #[test]
    fn every_variant_parses_to_the_same_second() {
        let micros = 1_566_656_122_000_000;
        for variant in 0..20 {
            let text = format_timestamp(micros, variant);
            let parsed: Result<Timestamp, _> = text.parse();
            assert_eq!(
                parsed.map(|ts| ts.as_second()).ok(),
                Some(micros / 1_000_000),
                "{text}"
            );
        }
    }
}
