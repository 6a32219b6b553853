//! Severity levels: sylar's five plus `Trace`, ordered, parsed case-insensitively.

use std::fmt;
use std::str::FromStr;

// ANCHOR: level
/// How severe an event is. Ordered from the most verbose (`Trace`) to the most severe
/// (`Fatal`): a logger or appender set to level `L` lets through every event `>= L`.
///
/// sylar has `DEBUG INFO WARN ERROR FATAL`; `Trace` is added because the `log` facade has
/// it. The facade has no `Fatal`, so `Fatal` is only reachable through this crate's own
/// macros and methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum Level {
    /// Step-by-step detail, normally off.
    Trace = 1,
    /// Diagnostic detail for developers.
    Debug = 2,
    /// Normal operation worth recording; the default level of every logger.
    #[default]
    Info = 3,
    /// Something unexpected that the program survived.
    Warn = 4,
    /// An operation failed.
    Error = 5,
    /// The program cannot go on.
    Fatal = 6,
}
// ANCHOR_END: level

/// Every level, most verbose first (handy for tests and parsers).
pub const ALL_LEVELS: [Level; 6] = [
    Level::Trace,
    Level::Debug,
    Level::Info,
    Level::Warn,
    Level::Error,
    Level::Fatal,
];

impl Level {
    /// The upper-case name printed by `%p` (`"INFO"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// The level stored in an atomic as `u8` (see [`Level::from_u8`]).
    pub(crate) const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The inverse of [`Level::as_u8`]; `None` for any other number.
    pub(crate) const fn from_u8(value: u8) -> Option<Level> {
        match value {
            1 => Some(Level::Trace),
            2 => Some(Level::Debug),
            3 => Some(Level::Info),
            4 => Some(Level::Warn),
            5 => Some(Level::Error),
            6 => Some(Level::Fatal),
            _ => None,
        }
    }

    /// The `log` facade's filter that lets through this level and everything more severe.
    /// `Fatal` maps to `Error`, the facade's most severe level.
    pub const fn to_level_filter(self) -> log::LevelFilter {
        match self {
            Level::Trace => log::LevelFilter::Trace,
            Level::Debug => log::LevelFilter::Debug,
            Level::Info => log::LevelFilter::Info,
            Level::Warn => log::LevelFilter::Warn,
            Level::Error | Level::Fatal => log::LevelFilter::Error,
        }
    }
}

impl From<log::Level> for Level {
    fn from(level: log::Level) -> Self {
        match level {
            log::Level::Trace => Level::Trace,
            log::Level::Debug => Level::Debug,
            log::Level::Info => Level::Info,
            log::Level::Warn => Level::Warn,
            log::Level::Error => Level::Error,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error of parsing a [`Level`] from text: names the text that was not a level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLevelError {
    text: String,
}

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown log level `{}` (expected trace, debug, info, warn, error or fatal)",
            self.text
        )
    }
}

impl std::error::Error for ParseLevelError {}

impl FromStr for Level {
    type Err = ParseLevelError;

    /// Parses a level name in any case; `warning` is accepted for `warn`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        ALL_LEVELS
            .into_iter()
            .find(|l| t.eq_ignore_ascii_case(l.as_str()))
            .or_else(|| t.eq_ignore_ascii_case("warning").then_some(Level::Warn))
            .ok_or_else(|| ParseLevelError {
                text: text.to_owned(),
            })
    }
}

impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Lower case, as sylar's YAML files write levels.
        serializer.serialize_str(&self.as_str().to_ascii_lowercase())
    }
}

impl<'de> serde::Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u8_round_trip_covers_every_level_and_rejects_others() {
        for level in ALL_LEVELS {
            assert_eq!(Level::from_u8(level.as_u8()), Some(level));
        }
        assert_eq!(Level::from_u8(0), None);
        assert_eq!(Level::from_u8(7), None);
    }

    #[test]
    fn levels_are_ordered_by_severity() {
        assert!(ALL_LEVELS.windows(2).all(|w| w[0] < w[1]));
    }
}
