//! The OCPP message log: every frame a charger sent or was sent, as text, with what could be
//! read from it (message type, message id, action), kept for a retention period.
//!
//! The log is written off the charger path (in batches, by a background writer) and may
//! drop frames under overload; it is for operators and support, not for the domain's rules.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::StoreResult;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameDirection {
    /// From the charger to Ampere.
    Incoming,
    /// From Ampere to the charger.
    Outgoing,
}

impl FrameDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }
}

impl FromStr for FrameDirection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "incoming" => Ok(Self::Incoming),
            "outgoing" => Ok(Self::Outgoing),
            other => Err(format!(
                "unknown direction {other:?} (expected incoming or outgoing)"
            )),
        }
    }
}

/// One logged frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedFrame {
    pub charger_id: String,
    pub at: DateTime<Utc>,
    pub direction: FrameDirection,
    /// `CALL`, `CALLRESULT`, `CALLERROR`, `CALLRESULTERROR`, `SEND`, or `INVALID` for text
    /// that is no OCPP-J frame.
    pub message_type: String,
    /// The action of a CALL or SEND, and of the answer to a CALL when it is known.
    pub action: Option<String>,
    pub message_id: Option<String>,
    /// The frame's text as it crossed the socket, except that credentials are masked.
    pub text: String,
}

/// A logged frame with its id (which grows in the order frames were logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFrame {
    pub id: i64,
    pub frame: LoggedFrame,
}

/// Which frames to list: one charger's, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameQuery {
    pub charger_id: String,
    /// Only ids below this (the page cursor).
    pub before: Option<i64>,
    pub limit: u32,
    pub direction: Option<FrameDirection>,
    pub action: Option<String>,
    /// Only frames at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only frames before this time.
    pub until: Option<DateTime<Utc>>,
}

/// The storage of the message log (implemented by `ampere_store::Store`).
#[async_trait]
pub trait MessageLogStore: Send + Sync + 'static {
    /// Stores the frames in one unit of work, in the given order.
    async fn insert_frames(&self, frames: &[LoggedFrame]) -> StoreResult<()>;
    async fn frames(&self, query: &FrameQuery) -> StoreResult<Vec<StoredFrame>>;
    /// Deletes every frame logged before `cutoff`; returns how many.
    async fn purge_frames_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;
}
