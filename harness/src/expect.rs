//! What an origin, or one route of it, expects to receive: how many requests, and which headers
//! they carry or lack. Checked when the origin is dropped (or on
//! [`ScriptedOrigin::verify`](crate::ScriptedOrigin::verify)).

use crate::received::ReceivedRequest;
use std::fmt;
use std::ops::{Range, RangeFrom, RangeInclusive, RangeTo, RangeToInclusive};

/// How many requests are expected: a number, or a range (`1..`, `..=3`, `2..=4`).
///
/// ```
/// use harness::Times;
/// assert_eq!(Times::from(1).to_string(), "exactly 1");
/// assert_eq!(Times::from(1..).to_string(), "at least 1");
/// assert_eq!(Times::from(..=3).to_string(), "at most 3");
/// assert!(Times::from(2..4).allows(3) && !Times::from(2..4).allows(4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    min: usize,
    /// Inclusive.
    max: Option<usize>,
}

impl Times {
    /// Whether `count` requests meet it.
    pub fn allows(&self, count: usize) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

impl From<usize> for Times {
    fn from(n: usize) -> Self {
        Times {
            min: n,
            max: Some(n),
        }
    }
}

impl From<Range<usize>> for Times {
    fn from(range: Range<usize>) -> Self {
        Times {
            min: range.start,
            max: Some(range.end.saturating_sub(1)),
        }
    }
}

impl From<RangeInclusive<usize>> for Times {
    fn from(range: RangeInclusive<usize>) -> Self {
        Times {
            min: *range.start(),
            max: Some(*range.end()),
        }
    }
}

impl From<RangeFrom<usize>> for Times {
    fn from(range: RangeFrom<usize>) -> Self {
        Times {
            min: range.start,
            max: None,
        }
    }
}

impl From<RangeTo<usize>> for Times {
    fn from(range: RangeTo<usize>) -> Self {
        Times {
            min: 0,
            max: Some(range.end.saturating_sub(1)),
        }
    }
}

impl From<RangeToInclusive<usize>> for Times {
    fn from(range: RangeToInclusive<usize>) -> Self {
        Times {
            min: 0,
            max: Some(range.end),
        }
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (min, Some(max)) if min == max => write!(f, "exactly {min}"),
            (0, Some(max)) => write!(f, "at most {max}"),
            (min, None) => write!(f, "at least {min}"),
            (min, Some(max)) => write!(f, "between {min} and {max}"),
        }
    }
}

/// A rule every request in scope must meet.
#[derive(Debug, Clone)]
enum HeaderRule {
    Equals { name: String, value: Vec<u8> },
    Present { name: String },
    Absent { name: String },
}

impl HeaderRule {
    /// What is wrong with `request`, if anything.
    fn broken_by(&self, request: &ReceivedRequest) -> Option<String> {
        match self {
            HeaderRule::Equals { name, value } => match request.header_bytes(name) {
                Some(found) if found == value.as_slice() => None,
                Some(found) => Some(format!(
                    "has {name}: {} where {} was expected",
                    String::from_utf8_lossy(found),
                    String::from_utf8_lossy(value)
                )),
                None => Some(format!(
                    "lacks {name} (expected {name}: {})",
                    String::from_utf8_lossy(value)
                )),
            },
            HeaderRule::Present { name } => request
                .header_bytes(name)
                .is_none()
                .then(|| format!("lacks {name}")),
            HeaderRule::Absent { name } => request.header_bytes(name).map(|found| {
                format!(
                    "carries {name}: {}, which must not reach the origin",
                    String::from_utf8_lossy(found)
                )
            }),
        }
    }
}

/// The expectations of an origin or a route.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expectations {
    times: Option<Times>,
    headers: Vec<HeaderRule>,
}

impl Expectations {
    pub(crate) fn times(&mut self, times: Times) {
        self.times = Some(times);
    }

    pub(crate) fn header(&mut self, name: &str, value: &[u8]) {
        self.headers.push(HeaderRule::Equals {
            name: name.to_owned(),
            value: value.to_vec(),
        });
    }

    pub(crate) fn header_present(&mut self, name: &str) {
        self.headers.push(HeaderRule::Present {
            name: name.to_owned(),
        });
    }

    pub(crate) fn no_header(&mut self, name: &str) {
        self.headers.push(HeaderRule::Absent {
            name: name.to_owned(),
        });
    }

    /// The problems with the requests in scope (numbered from 1 in the origin's order), one
    /// line each, naming the scope.
    pub(crate) fn check(&self, scope: &str, requests: &[(usize, &ReceivedRequest)]) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(times) = self.times
            && !times.allows(requests.len())
        {
            problems.push(format!(
                "{scope}: expected {times} request{}, received {}",
                if times.max.unwrap_or(times.min) == 1 {
                    ""
                } else {
                    "s"
                },
                requests.len()
            ));
        }
        for (number, request) in requests {
            for rule in &self.headers {
                if let Some(problem) = rule.broken_by(request) {
                    problems.push(format!(
                        "{scope}: request {number} ({} {}) {problem}",
                        request.method, request.path
                    ));
                }
            }
        }
        problems
    }
}
