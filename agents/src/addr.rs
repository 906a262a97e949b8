//! Agent addresses: `<peer-id>/<agent-id>` names an agent on a peer; a bare `<agent-id>` is an
//! agent on this node.

use std::fmt;
use std::str::FromStr;

use autonet_p2p::PeerId;

use crate::message::MAX_NAME_BYTES;

/// Where an agent lives: on a peer (`Some`) or on this node (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentAddr {
    /// The peer hosting the agent; `None`: this node.
    pub peer: Option<PeerId>,
    /// The agent's id on that peer (1..=64 characters of `[A-Za-z0-9._:-]`).
    pub agent: String,
}

/// Why text is not an agent address.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AddrError {
    /// The peer part is not a peer id.
    #[error("{0:?} is not a peer id")]
    BadPeer(String),
    /// The agent part is empty, too long or has characters outside `[A-Za-z0-9._:-]`.
    #[error("agent id {0:?} must be 1 to {MAX_NAME_BYTES} characters of [A-Za-z0-9._:-]")]
    BadAgent(String),
}

/// True for a valid agent id (the inbox's name rule).
pub fn is_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NAME_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

impl AgentAddr {
    /// An agent on this node.
    pub fn local(agent: &str) -> Result<Self, AddrError> {
        Self::new(None, agent)
    }

    /// An agent on `peer`.
    pub fn remote(peer: PeerId, agent: &str) -> Result<Self, AddrError> {
        Self::new(Some(peer), agent)
    }

    fn new(peer: Option<PeerId>, agent: &str) -> Result<Self, AddrError> {
        if !is_agent_id(agent) {
            let cut = agent.chars().take(MAX_NAME_BYTES).collect();
            return Err(AddrError::BadAgent(cut));
        }
        Ok(Self {
            peer,
            agent: agent.to_string(),
        })
    }

    /// True when the agent is on `me` (or has no peer part).
    pub fn is_local_to(&self, me: &PeerId) -> bool {
        self.peer.is_none_or(|p| &p == me)
    }

    /// The same agent, its peer part filled in with `me` when it had none.
    pub fn qualified(&self, me: PeerId) -> Self {
        Self {
            peer: Some(self.peer.unwrap_or(me)),
            agent: self.agent.clone(),
        }
    }
}

impl fmt::Display for AgentAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.peer {
            Some(peer) => write!(f, "{peer}/{}", self.agent),
            None => f.write_str(&self.agent),
        }
    }
}

impl FromStr for AgentAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((peer, agent)) => {
                let cut = || peer.chars().take(64).collect::<String>();
                let peer = peer.parse().map_err(|_| AddrError::BadPeer(cut()))?;
                Self::remote(peer, agent)
            }
            None => Self::local(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_print_and_refuse_junk() {
        let peer = PeerId::random();
        let remote: AgentAddr = format!("{peer}/helper-1").parse().unwrap();
        assert_eq!(remote.peer, Some(peer));
        assert_eq!(remote.to_string(), format!("{peer}/helper-1"));
        let local: AgentAddr = "helper-1".parse().unwrap();
        assert!(local.is_local_to(&peer));
        assert_eq!(local.qualified(peer), remote);
        assert!(matches!(
            "nope/a".parse::<AgentAddr>(),
            Err(AddrError::BadPeer(_))
        ));
        assert!(matches!(
            format!("{peer}/a/b").parse::<AgentAddr>(),
            Err(AddrError::BadAgent(_))
        ));
        assert!(matches!(
            "".parse::<AgentAddr>(),
            Err(AddrError::BadAgent(_))
        ));
    }
}
