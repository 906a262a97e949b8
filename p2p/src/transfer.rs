//! Request-response content transfer: CBOR messages, chunks of at most 1 MiB, per-peer rate limits.
//!
//! A provider serves content from its [`ContentSource`] (a node with a durable store serves
//! from the store, so content is kept once) or, without one, from memory (bounded by
//! [`MAX_PROVIDED_BYTES`]), and announces it with a Kademlia provider record under its content id. A fetcher knows the most the content may weigh
//! before it asks (the caller passes a limit: the size from a spec, commitment or manifest, or a
//! cap for the kind of content), asks for chunk 0, learns the chunk count from the answer, checks
//! every answer with [`ChunkCheck`] (the count within the limit and never changing, middle chunks
//! full, nothing past the limit), asks for the rest and checks the BLAKE3 of the whole against the
//! id. Each peer gets a token bucket; a request over budget is answered `RateLimited` without work.

use std::collections::HashMap;
use std::time::Instant;

use libp2p::PeerId;
use serde::{Deserialize, Serialize};

use crate::records::ContentId;

/// Largest chunk served in one response.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;

/// Largest encoded response accepted (a chunk plus CBOR framing).
pub const MAX_RESPONSE_BYTES: u64 = MAX_CHUNK_BYTES as u64 + 4096;

/// Largest encoded request accepted.
pub const MAX_REQUEST_BYTES: u64 = 4096;

/// Total bytes of content one node serves from memory.
pub const MAX_PROVIDED_BYTES: usize = 256 * 1024 * 1024;

/// Chunks needed for at most `max_bytes` bytes (at least one: empty content is one empty chunk).
pub fn max_chunks(max_bytes: u64) -> u64 {
    max_bytes.div_ceil(MAX_CHUNK_BYTES as u64).max(1)
}

/// What a fetcher has accepted so far from one provider, to judge its next answer before the
/// bytes are kept. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkCheck {
    max_bytes: u64,
    total: Option<u32>,
    received: u64,
}

impl ChunkCheck {
    /// A fetch of content of at most `max_bytes` bytes.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            max_bytes,
            total: None,
            received: 0,
        }
    }

    /// Judges chunk `index` claiming `total` chunks and carrying `len` bytes; on success the bytes
    /// count as received. The error says how the provider lied.
    pub fn accept(&mut self, index: u32, total: u32, len: usize) -> Result<(), String> {
        if total == 0 {
            return Err("claims a content of 0 chunks".into());
        }
        if u64::from(total) > max_chunks(self.max_bytes) {
            return Err(format!(
                "claims {total} chunks, more than the {} bytes this content may weigh",
                self.max_bytes
            ));
        }
        if let Some(first) = self.total
            && first != total
        {
            return Err(format!("claimed {first} chunks, then {total}"));
        }
        if index >= total {
            return Err(format!("sent chunk {index} of {total}"));
        }
        let last = index + 1 == total;
        let full = len == MAX_CHUNK_BYTES;
        if len > MAX_CHUNK_BYTES || (!last && !full) || (last && len == 0 && total > 1) {
            return Err(format!("chunk {index} of {total} has {len} bytes"));
        }
        let received = self.received.saturating_add(len as u64);
        if received > self.max_bytes {
            return Err(format!(
                "sent {received} bytes, more than the {} this content may weigh",
                self.max_bytes
            ));
        }
        self.total = Some(total);
        self.received = received;
        Ok(())
    }
}

/// A request for one chunk of content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRequest {
    /// The content asked for (BLAKE3 of its whole bytes).
    pub content: ContentId,
    /// Zero-based chunk number; chunk `i` covers bytes `i * MAX_CHUNK_BYTES ..`.
    pub index: u32,
}

/// The answer to a [`ChunkRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkResponse {
    /// One chunk of the content.
    Chunk {
        /// The chunk number that was asked for.
        index: u32,
        /// How many chunks the whole content has (at least 1).
        total: u32,
        /// The chunk's bytes: exactly `MAX_CHUNK_BYTES` except in the last chunk.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// This peer does not serve the content, or the index is past its end.
    NotFound,
    /// The requester is over its request budget; retry later or ask another provider.
    RateLimited,
}

/// Where a node's served content lives when it is not kept in memory: the node's own store.
/// Only content the node announced ([`crate::Client::serve_stored`]) is served from it.
pub trait ContentSource: Send + Sync {
    /// The bytes of `id`, if held.
    fn content(&self, id: &ContentId) -> Option<Vec<u8>>;
}

impl std::fmt::Debug for dyn ContentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentSource")
    }
}

/// Content this node serves: from memory, or announced ids read from its [`ContentSource`].
#[derive(Debug, Default)]
pub struct ProvidedContent {
    items: HashMap<ContentId, Vec<u8>>,
    bytes: usize,
    source: Option<std::sync::Arc<dyn ContentSource>>,
    announced: std::collections::HashSet<ContentId>,
}

impl ProvidedContent {
    /// Serves announced ids from `source` (and what [`Self::insert`] adds from memory).
    pub fn with_source(source: Option<std::sync::Arc<dyn ContentSource>>) -> Self {
        Self {
            source,
            ..Self::default()
        }
    }

    /// Serves `id` from the source; false without a source or when the source lacks it.
    pub fn announce(&mut self, id: ContentId) -> bool {
        let held = self
            .source
            .as_ref()
            .is_some_and(|s| s.content(&id).is_some());
        if held {
            self.announced.insert(id);
        }
        held
    }

    /// Adds content; false if it would exceed [`MAX_PROVIDED_BYTES`].
    pub fn insert(&mut self, id: ContentId, data: Vec<u8>) -> bool {
        if self.items.contains_key(&id) {
            return true;
        }
        if self.bytes + data.len() > MAX_PROVIDED_BYTES {
            return false;
        }
        self.bytes += data.len();
        self.items.insert(id, data);
        true
    }

    /// Answers a chunk request.
    pub fn answer(&self, request: &ChunkRequest) -> ChunkResponse {
        let from_source;
        let data = match self.items.get(&request.content) {
            Some(data) => data,
            None => {
                let source = self
                    .source
                    .as_ref()
                    .filter(|_| self.announced.contains(&request.content));
                match source.and_then(|s| s.content(&request.content)) {
                    Some(bytes) => {
                        from_source = bytes;
                        &from_source
                    }
                    None => return ChunkResponse::NotFound,
                }
            }
        };
        let total = data.len().div_ceil(MAX_CHUNK_BYTES).max(1);
        let index = request.index as usize;
        if index >= total {
            return ChunkResponse::NotFound;
        }
        let start = index * MAX_CHUNK_BYTES;
        let end = (start + MAX_CHUNK_BYTES).min(data.len());
        ChunkResponse::Chunk {
            index: request.index,
            total: u32::try_from(total).unwrap_or(u32::MAX),
            data: data.get(start..end).map(<[u8]>::to_vec).unwrap_or_default(),
        }
    }
}

/// Per-peer token buckets for inbound requests.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: HashMap<PeerId, (f64, Instant)>,
}

impl RateLimiter {
    /// Each peer may make `burst` requests at once (at least 1), refilled at `per_second`.
    pub fn new(burst: u32, per_second: u32) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_second),
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `peer` at `now`; false when the peer is over its budget.
    pub fn allow(&mut self, peer: PeerId, now: Instant) -> bool {
        let (tokens, last) = self.buckets.entry(peer).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets a disconnected peer.
    pub fn forget(&mut self, peer: &PeerId) {
        self.buckets.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn chunks_cover_the_content_and_are_bounded() {
        let mut provided = ProvidedContent::default();
        let data: Vec<u8> = (0..(2 * MAX_CHUNK_BYTES + 10)).map(|i| i as u8).collect();
        let id = crate::records::content_id(&data);
        assert!(provided.insert(id, data.clone()));
        let mut joined = Vec::new();
        for index in 0..3 {
            match provided.answer(&ChunkRequest { content: id, index }) {
                ChunkResponse::Chunk { total, data, .. } => {
                    assert_eq!(total, 3);
                    assert!(data.len() <= MAX_CHUNK_BYTES);
                    joined.extend(data);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(joined, data);
        let past_end = ChunkRequest {
            content: id,
            index: 3,
        };
        assert_eq!(provided.answer(&past_end), ChunkResponse::NotFound);
    }

    #[test]
    fn chunk_check_refuses_totals_over_the_limit_changed_totals_and_short_chunks() {
        let full = MAX_CHUNK_BYTES;
        let limit = 2 * full as u64 + 10;
        let mut ok = ChunkCheck::new(limit);
        assert_eq!(ok.accept(0, 3, full), Ok(()));
        assert_eq!(ok.accept(1, 3, full), Ok(()));
        assert_eq!(ok.accept(2, 3, 10), Ok(()));
        assert!(ChunkCheck::new(limit).accept(0, u32::MAX, full).is_err());
        assert!(ChunkCheck::new(limit).accept(0, 4, full).is_err());
        assert!(ChunkCheck::new(limit).accept(0, 0, 0).is_err());
        let mut changed = ChunkCheck::new(limit);
        assert_eq!(changed.accept(0, 2, full), Ok(()));
        assert!(changed.accept(1, 3, full).is_err());
        assert!(
            ChunkCheck::new(limit).accept(0, 3, 5).is_err(),
            "short middle chunk"
        );
        let mut over = ChunkCheck::new(limit);
        assert_eq!(over.accept(0, 3, full), Ok(()));
        assert_eq!(over.accept(1, 3, full), Ok(()));
        assert!(over.accept(2, 3, 11).is_err(), "past the limit");
        assert_eq!(ChunkCheck::new(0).accept(0, 1, 0), Ok(()), "empty content");
        assert!(ChunkCheck::new(0).accept(0, 1, 1).is_err());
    }

    #[test]
    fn rate_limiter_refills() {
        let mut limiter = RateLimiter::new(2, 1);
        let peer = PeerId::random();
        let t0 = Instant::now();
        assert!(limiter.allow(peer, t0));
        assert!(limiter.allow(peer, t0));
        assert!(!limiter.allow(peer, t0));
        assert!(limiter.allow(peer, t0 + Duration::from_secs(1)));
    }
}
