//! The gossip topics of the protocol, as a closed enum.
//!
//! Every topic string is `/autonet/1/<name>/cbor`. There is deliberately no catch-all variant: a
//! message on a topic this build does not know is dropped by the subscription filter and by
//! [`GossipTopic::from_hash`], never handed to the application as "other".

use libp2p::gossipsub::{IdentTopic, TopicHash};
use serde::{Deserialize, Serialize};

/// A protocol gossip topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GossipTopic {
    /// Proposers announce tasks (or the content id of a large task batch).
    Tasks,
    /// Announcements of newly published models and their manifests.
    Models,
    /// Agents' recorded runs (signed traces), which proposers draw task batches from.
    Traces,
}

impl GossipTopic {
    /// Every topic, in a fixed order.
    pub const ALL: [GossipTopic; 3] = [Self::Tasks, Self::Models, Self::Traces];

    /// The short name used in the topic string, logs and the status endpoint.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tasks => "tasks",
            Self::Models => "models",
            Self::Traces => "traces",
        }
    }

    /// Looks a topic up by its short name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The full gossipsub topic string `/autonet/1/<name>/cbor`.
    pub fn topic_string(self) -> String {
        format!("/autonet/1/{}/cbor", self.name())
    }

    /// The gossipsub topic.
    pub fn ident(self) -> IdentTopic {
        IdentTopic::new(self.topic_string())
    }

    /// The gossipsub hash of this topic.
    pub fn hash(self) -> TopicHash {
        self.ident().hash()
    }

    /// The protocol topic a gossipsub hash stands for, if any.
    pub fn from_hash(hash: &TopicHash) -> Option<Self> {
        Self::ALL.into_iter().find(|t| &t.hash() == hash)
    }
}

impl std::fmt::Display for GossipTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_strings_round_trip_and_unknown_is_none() {
        for t in GossipTopic::ALL {
            assert_eq!(t.topic_string(), format!("/autonet/1/{}/cbor", t.name()));
            assert_eq!(GossipTopic::from_hash(&t.hash()), Some(t));
            assert_eq!(GossipTopic::from_name(t.name()), Some(t));
        }
        let other = IdentTopic::new("/autonet/1/other/cbor").hash();
        assert_eq!(GossipTopic::from_hash(&other), None);
    }
}
