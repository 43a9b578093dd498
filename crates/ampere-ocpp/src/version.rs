use std::fmt;

/// The OCPP versions Ampere speaks, named after their WebSocket subprotocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OcppVersion {
    V16,
    V201,
    V21,
}

impl OcppVersion {
    /// Every version, newest first: the order in which the server prefers subprotocols.
    pub const NEWEST_FIRST: [Self; 3] = [Self::V21, Self::V201, Self::V16];

    /// The version named by a `Sec-WebSocket-Protocol` token (exact, case-sensitive match).
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name {
            "ocpp1.6" => Some(Self::V16),
            "ocpp2.0.1" => Some(Self::V201),
            "ocpp2.1" => Some(Self::V21),
            _ => None,
        }
    }

    /// The `Sec-WebSocket-Protocol` token of this version.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::V16 => "ocpp1.6",
            Self::V201 => "ocpp2.0.1",
            Self::V21 => "ocpp2.1",
        }
    }

    /// True for 2.0.1 and 2.1, which share OCPP-J part 4's RPC rules.
    pub fn is_2x(self) -> bool {
        !matches!(self, Self::V16)
    }
}

impl fmt::Display for OcppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V16 => "1.6",
            Self::V201 => "2.0.1",
            Self::V21 => "2.1",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocol_round_trips() {
        for v in OcppVersion::NEWEST_FIRST {
            assert_eq!(OcppVersion::from_subprotocol(v.subprotocol()), Some(v));
        }
        assert_eq!(OcppVersion::from_subprotocol("ocpp2.0"), None);
        assert_eq!(OcppVersion::from_subprotocol("OCPP1.6"), None);
    }
}
