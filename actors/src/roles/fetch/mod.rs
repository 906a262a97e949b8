//! Content fetching for the role actors, off the role actor's message loop.
//!
//! A role asks for content by id; if the store has it, it gets it, else [`Fetcher::get`] starts
//! a background attempt (unless one is running or backing off, see [`book`]) and answers `None`
//! at once, so the role reports "waiting" and looks again on its next tick. An attempt looks
//! the providers up in the DHT (bounded by [`LOOKUP_TIMEOUT`]; after a failed attempt the whole
//! lookup, not just its first answer), asks them in the book's order with a per-chunk
//! [`CHUNK_TIMEOUT`] and the size cap of the content's [`ContentKind`] (a provider claiming more
//! is penalized and dropped on its first answer), and stores the first copy whose hash matches.
//! No role
//! step ever waits on a provider, so one dead provider (a killed peer whose provider record
//! outlives it) costs a failed request and a backoff, not the epoch.
//!
//! A model is the exception: it is published only as erasure-coded shards
//! ([`crate::shards`]), so an attempt at a [`ContentKind::Model`] reads the model's registered
//! root from the chain and rebuilds the model from any `k` shards
//! ([`crate::shards::fetch()`]), each checked against the registered root on arrival.
//!
//! Attempts run on the peer's runtime but belong to the fetcher: dropping it (the peer is
//! killed) aborts them, so a dead peer writes nothing more to its store.

pub mod book;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autonet_p2p::transfer::MAX_PROVIDED_BYTES;
use autonet_p2p::{Client, PeerId};
use autonet_store::Store;
use tokio::task::JoinSet;

use super::RoleError;
use super::ctx::CONTENT;
use super::solver::short;
use crate::shards::{AuthorityRoots, FetchOptions, HoldAuthority};
use book::FetchBook;

/// How long one DHT provider lookup may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one provider may take to send one chunk before the next provider is asked.
pub const CHUNK_TIMEOUT: Duration = Duration::from_secs(5);

/// What a content is, and so the most it may weigh: a fetch asks no provider for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// A task spec (its batch of turns) or a held-out set: decoded within
    /// [`MAX_SPEC_BYTES`](crate::protocol::wire::MAX_SPEC_BYTES).
    TaskBatch,
    /// A solver's solution: an event bundle or a weight delta.
    Solution,
    /// A model: a world or weights.
    Model,
    /// An epoch's mint list (decoded within the same limit as a spec).
    MintList,
}

impl ContentKind {
    /// The cap in bytes. Solutions and models are capped by what any provider serves at all
    /// ([`MAX_PROVIDED_BYTES`]); task batches and mint lists by
    /// their decoder's limit.
    pub fn max_bytes(self) -> u64 {
        match self {
            ContentKind::TaskBatch | ContentKind::MintList => {
                crate::protocol::wire::MAX_SPEC_BYTES as u64
            }
            ContentKind::Solution | ContentKind::Model => MAX_PROVIDED_BYTES as u64,
        }
    }
}

/// A peer's content fetcher.
#[derive(Debug)]
pub struct Fetcher {
    net: Client,
    store: Arc<Store>,
    /// Registered model roots (the chain): models are rebuilt from their shards.
    roots: Arc<dyn HoldAuthority>,
    book: Arc<Mutex<FetchBook>>,
    attempts: Mutex<JoinSet<()>>,
}

impl Fetcher {
    /// A fetcher storing into `store`; models are checked against the roots `roots` registers.
    pub fn new(net: Client, store: Arc<Store>, roots: Arc<dyn HoldAuthority>) -> Self {
        Fetcher {
            net,
            store,
            roots,
            book: Arc::default(),
            attempts: Mutex::new(JoinSet::new()),
        }
    }

    /// Content by id from the store; else `None`, with an attempt to fetch it (at most
    /// `kind`'s cap) under way.
    pub fn get(&self, id: [u8; 32], kind: ContentKind) -> Result<Option<Vec<u8>>, RoleError> {
        if let Some(bytes) = self.store.get(CONTENT, &id)? {
            return Ok(Some(bytes));
        }
        let start = self
            .book
            .lock()
            .map(|mut b| b.begin(id, Instant::now()))
            .unwrap_or(false);
        if start && let Ok(mut attempts) = self.attempts.lock() {
            // Reap finished attempts (their results are in the store and the book already).
            while attempts.try_join_next().is_some() {}
            let (net, store, book) = (self.net.clone(), self.store.clone(), self.book.clone());
            if kind == ContentKind::Model {
                attempts.spawn(model_attempt(net, store, book, self.roots.clone(), id));
            } else {
                attempts.spawn(attempt(net, store, book, id, kind.max_bytes()));
            }
        }
        Ok(None)
    }

    /// Failed attempts at `id` so far: every provider found was tried and none served it (or
    /// none was found).
    pub fn failures(&self, id: [u8; 32]) -> u32 {
        self.book.lock().map(|b| b.failures(id)).unwrap_or(0)
    }
}

/// One attempt at model `id`: rebuild it from its shards, checked against its registered root.
async fn model_attempt(
    net: Client,
    store: Arc<Store>,
    book: Arc<Mutex<FetchBook>>,
    roots: Arc<dyn HoldAuthority>,
    id: [u8; 32],
) {
    let roots = AuthorityRoots(&*roots);
    let fetched = crate::shards::fetch(&net, &roots, id, FetchOptions::default()).await;
    let outcome = match fetched {
        Ok(model) => store
            .put(CONTENT, &id, &model.bytes)
            .map_err(|e| format!("cannot store the rebuilt model: {e}")),
        Err(e) => Err(e.to_string()),
    };
    let Ok(mut b) = book.lock() else { return };
    match outcome {
        Ok(()) => b.attempt_succeeded(id),
        Err(e) => {
            tracing::debug!(model = %short(&id), "model fetch from shards failed: {e}");
            b.attempt_failed(id, Instant::now());
        }
    }
}

/// One attempt at `id`: look providers up, try them in order, keep the first good copy.
async fn attempt(
    net: Client,
    store: Arc<Store>,
    book: Arc<Mutex<FetchBook>>,
    id: [u8; 32],
    max_bytes: u64,
) {
    let retry = book.lock().map(|b| b.failures(id) > 0).unwrap_or(false);
    // The first lookup stops at the first providers found; after a failed attempt (those may
    // all be dead) the whole lookup runs, to find every provider there is.
    let lookup = async {
        if retry {
            net.all_providers(id).await
        } else {
            net.providers(id).await
        }
    };
    let providers: HashSet<PeerId> = match tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
        Ok(Ok(found)) => found,
        Ok(Err(_)) | Err(_) => HashSet::new(),
    };
    let order = match book.lock() {
        Ok(b) => b.order(providers),
        Err(_) => return,
    };
    for peer in order {
        // `fetch_from` checks the size claims against the cap and the bytes against the id.
        match net.fetch_from(peer, id, max_bytes, CHUNK_TIMEOUT).await {
            Ok(bytes) => {
                let stored = store.put(CONTENT, &id, &bytes);
                let Ok(mut b) = book.lock() else { return };
                b.provider_served(peer);
                match stored {
                    Ok(()) => b.attempt_succeeded(id),
                    Err(e) => {
                        tracing::warn!(content = %short(&id), "cannot store fetched content: {e}");
                        b.attempt_failed(id, Instant::now());
                    }
                }
                return;
            }
            Err(e) => {
                tracing::debug!(%peer, content = %short(&id), "fetch failed: {e}");
                if let Ok(mut b) = book.lock() {
                    b.provider_failed(peer);
                }
            }
        }
    }
    if let Ok(mut b) = book.lock() {
        b.attempt_failed(id, Instant::now());
    }
}
