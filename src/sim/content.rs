//! What an event says: its key, user, address and parameters, drawn from the seed and
//! the event's position so that the same event always reads the same.
//!
//! The draws use a small SplitMix64 generator of our own rather than one of `rand`'s,
//! whose streams may change between releases: a seed must give the same log forever.

use std::borrow::Cow;

use crate::sim::hostile;
use crate::sim::keys::{Channel, Concern, SERVICES, Scene, pick_key};
use crate::sim::value::{Event, Value, object};

/// Salt of the draws that decide an event's content.
const CONTENT_SALT: u64 = 0xC0_47E7;

/// Number of users in the simulated account.
const USER_COUNT: u64 = 48;

/// A deterministic stream of random numbers (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Draw(u64);

impl Draw {
    /// The stream for one (seed, index, purpose): streams of different salts are unrelated.
    pub(crate) fn new(seed: u64, index: u64, salt: u64) -> Draw {
        Draw(mix(seed, index, salt))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        finalize(self.0)
    }

    /// A number in `0..n`, or 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One item of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `count` letters and digits, as in Salesforce record ids and token suffixes.
    pub(crate) fn alphanumeric(&mut self, count: usize) -> String {
        const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..count).map(|_| char::from(*self.pick(CHARS))).collect()
    }
}

/// The SplitMix64 output function: a bijection that spreads every input bit.
fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of (seed, index, salt); every value of the log derives from one of these.
pub(crate) fn mix(seed: u64, index: u64, salt: u64) -> u64 {
    let stream = finalize(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    finalize(stream ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// Whether event `index` is one of every `every` (the Nth, 2Nth, ...); never for 0.
pub(crate) fn is_every(index: u64, every: u64) -> bool {
    every > 0 && (index + 1).is_multiple_of(every)
}

/// Which optional content the events carry.
#[derive(Debug, Clone)]
pub(crate) struct ContentOptions {
    pub seed: u64,
    pub hostile_every: u64,
    pub oversized_every: u64,
    pub unknown_fields: bool,
}

/// A user of the simulated account.
#[derive(Debug, Clone)]
struct User {
    id: u64,
    email: String,
}

/// The builder of event content for one seed.
#[derive(Debug)]
pub(crate) struct Content {
    options: ContentOptions,
    users: Vec<User>,
}

impl Content {
    pub(crate) fn new(options: ContentOptions) -> Content {
        let users = (0..USER_COUNT)
            .map(|n| make_user(options.seed, n))
            .collect();
        Content { options, users }
    }

    /// Event number `index` of the log, with its id and formatted timestamp.
    pub(crate) fn event(&self, index: u64, event_id: u64, created_at: String) -> Event {
        let mut draw = Draw::new(self.options.seed, index, CONTENT_SALT);
        let spec = pick_key(&mut draw);
        let user = self.pick_user(&mut draw);
        let service_id = SERVICES[draw.below(SERVICES.len() as u64) as usize];
        let source = if spec.channel == Channel::Api || draw.percent(12) {
            "api"
        } else {
            "web app"
        };
        let ip_address = ip_address(&mut draw, user.id);

        let mut scene = Scene {
            service_id,
            user_id: user.id,
            draw,
        };
        let mut event = Event {
            event_id,
            created_at,
            ip_address,
            key: Cow::Borrowed(spec.key),
            parameters: (spec.parameters)(&mut scene),
            service_id: (spec.concern == Concern::Service).then_some(service_id),
            source,
            user_email: Cow::Owned(user.email.clone()),
            user_id: user.id,
            extra: Vec::new(),
        };

        if self.options.unknown_fields && index % 7 == 3 {
            event.extra = unknown_fields(&mut scene.draw, index);
        }
        if is_every(index, self.options.hostile_every) {
            hostile::apply(&mut event, index / self.options.hostile_every);
        }
        if is_every(index, self.options.oversized_every) {
            event
                .parameters
                .push("attachment_preview", hostile::oversized_value(event_id));
        }
        event
    }

    /// Some users are far busier than others, as in a real account.
    fn pick_user(&self, draw: &mut Draw) -> &User {
        let busy = draw.below(USER_COUNT).min(draw.below(USER_COUNT));
        &self.users[busy as usize]
    }
}

fn make_user(seed: u64, n: u64) -> User {
    const FIRST: [&str; 16] = [
        "jane", "john", "maria", "wei", "fatima", "lucas", "olga", "kenji", "amara", "diego",
        "priya", "noah", "sofia", "ahmed", "emma", "tomasz",
    ];
    const LAST: [&str; 12] = [
        "doe", "smith", "garcia", "chen", "okafor", "muller", "ivanova", "tanaka", "silva",
        "patel", "kowalski", "nguyen",
    ];
    const DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];

    let shift = mix(seed, 0, 0x05E2);
    let first = FIRST[((n + shift) % FIRST.len() as u64) as usize];
    let last = LAST[((n / FIRST.len() as u64 + (shift >> 8)) % LAST.len() as u64) as usize];
    let domain = DOMAINS[((shift >> 16) % DOMAINS.len() as u64) as usize];
    let id = 12_000 + n * 131 + mix(seed, n, 0x05E3) % 100;
    User {
        id,
        email: format!("{first}.{last}@{domain}"),
    }
}

/// The documentation ranges: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and
/// 2001:db8::/32. A user mostly comes from one address; some events have none.
fn ip_address(draw: &mut Draw, user_id: u64) -> Option<String> {
    const V4: [&str; 3] = ["192.0.2", "198.51.100", "203.0.113"];
    let roll = draw.below(100);
    let home = if draw.percent(80) {
        user_id
    } else {
        draw.next_u64()
    };
    match roll {
        0..=2 => None,
        3..=6 => Some(String::new()),
        7..=21 => Some(format!(
            "2001:db8:{:x}::{:x}",
            home % 0xffff,
            (home >> 16) % 0xffff + 1
        )),
        _ => Some(format!(
            "{}.{}",
            V4[(home % 3) as usize],
            (home >> 2) % 254 + 1
        )),
    }
}

/// Fields a newer version of the API might add: the daemon must carry them through.
fn unknown_fields(draw: &mut Draw, index: u64) -> Vec<(&'static str, Value)> {
    let mut extra = vec![
        (
            "org_id",
            Value::from(format!("00D5e0000{}", draw.alphanumeric(9))),
        ),
        (
            "tenant",
            object! { "id" => draw.below(9) + 1, "region" => "emea1" },
        ),
    ];
    if index % 2 == 1 {
        extra.push((
            "correlation_id",
            Value::from(format!("c-{:016x}", draw.next_u64())),
        ));
        extra.push(("risk_score", Value::from(draw.below(1000) as f64 / 1000.0)));
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(hostile_every: u64, oversized_every: u64) -> Content {
        let options = ContentOptions {
            seed: 9,
            hostile_every,
            oversized_every,
            unknown_fields: true,
        };
        Content::new(options)
    }

    #[test]
    fn same_index_same_event() {
        let content = content(0, 0);
        for index in [0, 1, 2, 77, 123_456] {
            let first = content.event(index, index * 3, String::new());
            assert_eq!(first, content.event(index, index * 3, String::new()));
        }
    }

    #[test]
    fn users_are_distinct() {
        let content = content(0, 0);
        let mut emails: Vec<&str> = content
            .users
            .iter()
            .map(|user| user.email.as_str())
            .collect();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len() as u64, USER_COUNT);
    }

    #[test]
    fn logins_and_backups_dominate() {
        let content = content(0, 0);
        let keys: Vec<_> = (0..2000)
            .map(|i| content.event(i, i, String::new()).key)
            .collect();
        let common = keys
            .iter()
            .filter(|key| key.starts_with("user.log") || key.starts_with("backup."));
        assert!(common.count() > 1200);
        assert!(keys.iter().any(|key| key == "gdpr.forget_requested"));
    }

    #[test]
    fn unknown_fields_on_one_in_seven() {
        let content = content(0, 0);
        assert!(!content.event(3, 3, String::new()).extra.is_empty());
        assert!(content.event(4, 4, String::new()).extra.is_empty());
    }

    #[test]
    fn every_nth_is_hostile_or_oversized() {
        let content = content(5, 10);
        assert!(is_every(4, 5) && !is_every(5, 5) && !is_every(0, 0));

        let hostile = content.event(4, 1, String::new());
        assert!(hostile.key.contains('|') && hostile.key.contains(' '));

        let oversized = serde_json::to_vec(&content.event(9, 1, String::new())).unwrap_or_default();
        assert!(oversized.len() > 256 * 1024);
    }
}
