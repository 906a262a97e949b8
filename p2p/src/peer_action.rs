//! What a peer did wrong, as typed actions (like Lighthouse's `PeerAction`): the one place where
//! the size of each penalty is set.
//!
//! Penalties add up per peer and enter the gossipsub score as its application-specific part
//! (weight 10); below the ban threshold (−80) the peer is disconnected and refused for the ban
//! period. The sizes are chosen by how sure the node is that the peer is malicious: bytes that
//! fail their content id are proof, a malformed request may be a bug, a burst of gossip may be
//! an honest relay under load.

/// A peer's offence, reported with [`crate::Client::penalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerAction {
    /// Sent bytes that fail their content id or proof, or broke the transfer rules (a lying
    /// provider or shard holder). One is enough for a ban.
    Lied,
    /// Sent a malformed or invalid request (an RPC that does not decode, a bad inference plan
    /// request). Three ban.
    Malformed,
    /// Forwarded gossip above its rate limit. Nine ban (fewer when the rest of its score is low
    /// too: rejected gossip counts as well).
    Flooded,
}

impl PeerAction {
    /// Score points this action takes from the peer's application score.
    pub fn penalty(self) -> f64 {
        match self {
            PeerAction::Lied => 10.0,
            PeerAction::Malformed => 3.0,
            PeerAction::Flooded => 1.0,
        }
    }

    /// Name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            PeerAction::Lied => "lied",
            PeerAction::Malformed => "malformed",
            PeerAction::Flooded => "flooded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ban threshold is −80 and the application score's weight 10.
    #[test]
    fn the_number_of_offences_before_a_ban_follows_the_severity() {
        let to_ban = |a: PeerAction| (1..).find(|n| f64::from(*n) * a.penalty() * 10.0 > 80.0);
        assert_eq!(to_ban(PeerAction::Lied), Some(1));
        assert_eq!(to_ban(PeerAction::Malformed), Some(3));
        assert_eq!(to_ban(PeerAction::Flooded), Some(9));
    }
}
