//! How the [`EventLoop`] executes the application's [`Command`]s: one small function per
//! command, grouped by family (connections and gossip, the DHT and content, request-response,
//! peers and state). No command waits: each starts its work on the swarm and leaves its reply
//! with the query or request it started, or answers at once.

use std::collections::HashSet;

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::kad::{Quorum, Record, RecordKey};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;

use crate::client::Command;
use crate::event_loop::{EventLoop, ProviderLookup, Reply};
use crate::records::{ContentId, record_key, to_hex};
use crate::rpc::RpcRequest;
use crate::transfer::ChunkRequest;
use crate::{GossipTopic, P2pError};

impl EventLoop {
    pub(crate) fn on_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(reply) => self.listen_addrs_command(reply),
            Command::Dial(addr, reply) => self.dial(addr, reply),
            Command::Publish { topic, data, reply } => self.publish(topic, data, reply),
            Command::ReportValidation {
                id,
                propagation_source,
                acceptance,
            } => self.report_validation(&id, &propagation_source, acceptance),
            Command::PutRecord(value, reply) => self.put_record(value, reply),
            Command::GetRecord(key, reply) => {
                let query = self.swarm.behaviour_mut().kad.get_record(key);
                self.pending_gets.insert(query, reply);
            }
            Command::Provide(data, reply) => self.provide(data, reply),
            Command::ServeStored(id, reply) => self.serve_stored(id, reply),
            Command::GetProviders(id, reply) => self.find_providers(id, false, reply),
            Command::GetAllProviders(id, reply) => self.find_providers(id, true, reply),
            Command::Announce(id, reply) => self.announce(id, reply),
            Command::StopProviding(id) => {
                let kad = &mut self.swarm.behaviour_mut().kad;
                kad.stop_providing(&RecordKey::new(&id));
            }
            Command::RequestChunk(peer, request, reply) => self.request_chunk(peer, request, reply),
            Command::Rpc {
                peer,
                request,
                reply,
            } => self.send_rpc(peer, request, reply),
            Command::ServeRpc {
                service,
                handler,
                budget,
                reply,
            } => {
                self.serve_rpc(service, handler, budget);
                let _ = reply.send(Ok(()));
            }
            Command::RespondRpc(id, response) => self.respond_rpc(id, response),
            Command::Penalize(peer, action) => self.penalize(peer, action),
            Command::Ban(peer, duration) => self.ban(peer, duration),
            Command::KnownPeers(reply) => self.known_peers(reply),
            Command::PeerScore(peer, reply) => {
                let score = self.swarm.behaviour().gossipsub.peer_score(&peer);
                let _ = reply.send(Ok(score));
            }
            Command::Status(reply) => {
                let _ = reply.send(Ok(self.status()));
            }
            // Handled by the run loop, which stops.
            Command::Shutdown(_) => {}
        }
    }

    // Connections and gossip.

    fn listen_addrs_command(&mut self, reply: Reply<Vec<Multiaddr>>) {
        if self.listen_addrs.is_empty() {
            self.listen_waiters.push(reply);
        } else {
            let _ = reply.send(Ok(self.listen_addrs.clone()));
        }
    }

    fn dial(&mut self, addr: Multiaddr, reply: Reply<()>) {
        let opts = DialOpts::from(addr.clone());
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.pending_dials.insert(id, reply);
            }
            Err(err) => {
                let _ = reply.send(Err(P2pError::Dial {
                    addr: addr.to_string(),
                    reason: err.to_string(),
                }));
            }
        }
    }

    fn publish(&mut self, topic: GossipTopic, data: Vec<u8>, reply: Reply<MessageId>) {
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        let result = gossipsub
            .publish(topic.ident(), data)
            .map_err(|e| P2pError::Publish(e.to_string()));
        if result.is_ok() {
            self.metrics.messages_published.inc();
        }
        let _ = reply.send(result);
    }

    fn report_validation(
        &mut self,
        id: &MessageId,
        propagation_source: &PeerId,
        acceptance: MessageAcceptance,
    ) {
        if matches!(acceptance, MessageAcceptance::Reject) {
            self.metrics.messages_rejected.inc();
        }
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, propagation_source, acceptance);
    }

    // The DHT and content.

    fn put_record(&mut self, value: Vec<u8>, reply: Reply<RecordKey>) {
        let key = record_key(&value);
        let kad = &mut self.swarm.behaviour_mut().kad;
        match kad.put_record(Record::new(key.clone(), value), Quorum::One) {
            Ok(query) => {
                self.pending_puts.insert(query, (key, reply));
            }
            Err(err) => {
                let _ = reply.send(Err(P2pError::Dht(err.to_string())));
            }
        }
    }

    fn provide(&mut self, data: Vec<u8>, reply: Reply<ContentId>) {
        let id = crate::records::content_id(&data);
        if !self.provided.insert(id, data) {
            let reason = "content store limit reached".to_string();
            let _ = reply.send(Err(P2pError::Config(reason)));
            return;
        }
        self.start_providing(id, reply);
    }

    fn serve_stored(&mut self, id: ContentId, reply: Reply<ContentId>) {
        if !self.provided.announce(id) {
            let _ = reply.send(Err(P2pError::Config(format!(
                "content {} is not in this node's content source",
                to_hex(&id)
            ))));
            return;
        }
        self.start_providing(id, reply);
    }

    /// Announces this node as a provider of `id`; `reply` answers once the record is out.
    fn start_providing(&mut self, id: ContentId, reply: Reply<ContentId>) {
        let kad = &mut self.swarm.behaviour_mut().kad;
        match kad.start_providing(RecordKey::new(&id)) {
            Ok(query) => {
                self.pending_provides.insert(query, (id, reply));
            }
            Err(err) => {
                let _ = reply.send(Err(P2pError::Dht(err.to_string())));
            }
        }
    }

    /// Like [`Self::start_providing`] for content the application serves itself.
    fn announce(&mut self, id: ContentId, reply: Reply<()>) {
        let (tx, rx) = oneshot::channel();
        self.start_providing(id, tx);
        // The caller only needs to know the announcement went out.
        tokio::spawn(async move {
            let _ = reply.send(rx.await.unwrap_or(Err(P2pError::Stopped)).map(|_| ()));
        });
    }

    fn find_providers(&mut self, id: ContentId, all: bool, reply: Reply<HashSet<PeerId>>) {
        let kad = &mut self.swarm.behaviour_mut().kad;
        let query = kad.get_providers(RecordKey::new(&id));
        let lookup = ProviderLookup {
            found: HashSet::new(),
            all,
            reply,
        };
        self.pending_providers.insert(query, lookup);
    }

    // Request-response: content chunks and RPCs.

    fn request_chunk(
        &mut self,
        peer: PeerId,
        request: ChunkRequest,
        reply: Reply<crate::transfer::ChunkResponse>,
    ) {
        self.activity.touch(peer);
        let id = self
            .swarm
            .behaviour_mut()
            .transfer
            .send_request(&peer, request);
        self.pending_requests.insert(id, reply);
    }

    fn send_rpc(&mut self, peer: PeerId, request: RpcRequest, reply: Reply<crate::RpcResponse>) {
        self.activity.touch(peer);
        let id = self.swarm.behaviour_mut().rpc.send_request(&peer, request);
        self.pending_rpcs.insert(id, reply);
    }

    // Peers and state.

    fn known_peers(&mut self, reply: Reply<Vec<PeerId>>) {
        let mut peers: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        for bucket in self.swarm.behaviour_mut().kad.kbuckets() {
            for entry in bucket.iter() {
                peers.insert(*entry.node.key.preimage());
            }
        }
        peers.retain(|p| !self.bans.contains_key(p));
        let _ = reply.send(Ok(peers.into_iter().collect()));
    }
}
