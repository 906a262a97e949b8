//! How the [`EventLoop`] reacts to swarm events: connection bookkeeping, the identify version
//! gate, gossip validation, DHT record filtering and query results, and transfer requests.

use std::collections::HashMap;
use std::time::Instant;

use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::kad::{self, AddProviderOk, GetProvidersOk, GetRecordOk, InboundRequest, QueryResult};
use libp2p::metrics::Recorder;
use libp2p::request_response::{self, Message, OutboundRequestId};
use libp2p::swarm::{ListenError, SwarmEvent};
use libp2p::{PeerId, identify};
use tokio::sync::oneshot;

use crate::behaviour::BehaviourEvent;
use crate::config::KAD_PROTOCOL;
use crate::envelope::Envelope;
use crate::event_loop::{EventLoop, InboundMessage, NetworkEvent};
use crate::peer_manager::request_peer;
use crate::records::is_valid_record;
use crate::transfer::{ChunkRequest, ChunkResponse};
use crate::{GossipTopic, P2pError};

impl EventLoop {
    pub(crate) fn libp2p_metrics_record_swarm(&self, event: &SwarmEvent<BehaviourEvent>) {
        self.libp2p_metrics.record(event);
    }

    pub(crate) fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        self.libp2p_metrics.record(&event);
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address
                    .with_p2p(*self.swarm.local_peer_id())
                    .unwrap_or_else(|a| a);
                tracing::info!(addr = %full, "listening");
                self.listen_addrs.push(full);
                for waiter in self.listen_waiters.drain(..) {
                    let _ = waiter.send(Ok(self.listen_addrs.clone()));
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                num_established,
                endpoint,
                ..
            } => {
                self.connections.opened(peer_id, connection_id, &endpoint);
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Ok(()));
                }
                if num_established.get() == 1 {
                    self.activity.connected(peer_id, endpoint.is_dialer());
                    self.update_connected_gauge();
                    if let Some(total) = self.penalties.get(&peer_id) {
                        let score = -*total;
                        self.swarm
                            .behaviour_mut()
                            .gossipsub
                            .set_application_score(&peer_id, score);
                    }
                    let _ = self.events.try_send(NetworkEvent::PeerConnected(peer_id));
                    // Join the DHT through a bootstrap peer, but only while our routing table is
                    // short (joining, or after losing the network), and at most once per walk
                    // interval: a refresh of every bucket connects this node to every peer again.
                    // In a network smaller than "short" every reconnection would qualify, and the
                    // pruned bootstrap peer dialing back up to its target would set off a refresh
                    // on each peer it reached, over and over (a flaky pruning test showed it).
                    if self.bootstrap_peers.contains(&peer_id)
                        && self.routing_table_is_short()
                        && self.join_refresh_due()
                    {
                        self.last_join_refresh = Some(std::time::Instant::now());
                        let _ = self.swarm.behaviour_mut().kad.bootstrap();
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                self.connections.closed(&peer_id, connection_id);
                if num_established > 0 {
                    return;
                }
                self.update_connected_gauge();
                self.rate_limiter.forget(&peer_id);
                for route in self.rpc_routes.values_mut() {
                    route.forget(&peer_id);
                }
                self.activity.forget(&peer_id);
                self.agents.remove(&peer_id);
                let _ = self
                    .events
                    .try_send(NetworkEvent::PeerDisconnected(peer_id));
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                tracing::debug!(?peer_id, %error, "outgoing connection failed");
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Err(P2pError::Dial {
                        addr: format!("{peer_id:?}"),
                        reason: error.to_string(),
                    }));
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = address
                    .with_p2p(*self.swarm.local_peer_id())
                    .unwrap_or_else(|a| a);
                self.listen_addrs.retain(|a| *a != full);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                let reason = match reason {
                    Ok(()) => "closed".to_string(),
                    Err(err) => err.to_string(),
                };
                self.on_listener_closed(listener_id, &reason);
            }
            SwarmEvent::IncomingConnectionError { peer_id, error, .. } => {
                let banned = peer_id.is_some_and(|p| self.bans.contains_key(&p));
                if banned && matches!(error, ListenError::Denied { .. }) {
                    tracing::info!(?peer_id, "refused connection from banned peer");
                    self.metrics.connections_refused_banned.inc();
                }
            }
            _ => {}
        }
    }

    /// No join refresh within the last random-walk interval.
    fn join_refresh_due(&self) -> bool {
        self.last_join_refresh
            .is_none_or(|at| at.elapsed() >= self.config.random_walk_interval)
    }

    /// Fewer peers in the Kademlia routing table than one bucket holds (k = 20).
    fn routing_table_is_short(&mut self) -> bool {
        let kad = &mut self.swarm.behaviour_mut().kad;
        kad.kbuckets().map(|b| b.num_entries()).sum::<usize>() < 20
    }

    fn update_connected_gauge(&self) {
        let n = self.swarm.connected_peers().count();
        self.metrics
            .connected_peers
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(event) => {
                self.libp2p_metrics.record(&event);
                self.on_gossip(event);
            }
            BehaviourEvent::Kad(event) => {
                self.libp2p_metrics.record(&event);
                self.on_kad(event);
            }
            BehaviourEvent::Identify(event) => {
                self.libp2p_metrics.record(&event);
                self.on_identify(event);
            }
            BehaviourEvent::Ping(event) => self.libp2p_metrics.record(&event),
            BehaviourEvent::Autonat(event) => self.on_autonat(event),
            BehaviourEvent::Relay(event) => {
                self.libp2p_metrics.record(&event);
                self.on_relay_server(event);
            }
            BehaviourEvent::RelayClient(event) => self.on_relay_client(event),
            BehaviourEvent::Dcutr(event) => {
                self.libp2p_metrics.record(&event);
                self.on_dcutr(event);
            }
            BehaviourEvent::Transfer(event) => {
                self.activity.touch(request_peer(&event));
                self.on_transfer(event);
            }
            BehaviourEvent::Rpc(event) => {
                self.activity.touch(request_peer(&event));
                self.on_rpc(event);
            }
            BehaviourEvent::Limits(never) | BehaviourEvent::Bans(never) => match never {},
        }
    }

    fn on_identify(&mut self, event: identify::Event) {
        let identify::Event::Received { peer_id, info, .. } = event else {
            return;
        };
        if info.protocol_version != self.config.protocol_version {
            tracing::warn!(%peer_id, theirs = %info.protocol_version, "incompatible protocol version; disconnecting");
            self.metrics.version_mismatches.inc();
            // A ban (not only a disconnect) so that neither side keeps redialling.
            self.ban(peer_id, self.config.bans.ban_duration);
            return;
        }
        // Bounded: a peer's own string, at most 256 bytes, one per connected peer.
        let agent: String = info.agent_version.chars().take(256).collect();
        self.agents.insert(peer_id, agent);
        if info.protocols.contains(&KAD_PROTOCOL) {
            for addr in info.listen_addrs {
                self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
            }
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        let verdict = match GossipTopic::from_hash(&message.topic) {
            None => Err("unknown topic".to_string()),
            Some(topic) => Envelope::decode(&message.data)
                .map(|e| (topic, e))
                .map_err(|e| e.to_string()),
        };
        let (topic, envelope) = match verdict {
            Ok(ok) => ok,
            Err(reason) => {
                tracing::debug!(%propagation_source, %reason, "rejecting gossip message");
                self.metrics.messages_invalid.inc();
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(
                        &message_id,
                        &propagation_source,
                        MessageAcceptance::Reject,
                    );
                return;
            }
        };
        self.metrics.messages_received.inc();
        let inbound = InboundMessage {
            id: message_id.clone(),
            topic,
            author: message.source,
            propagation_source,
            body: envelope.body,
            sent_at_micros: envelope.sent_at_micros,
        };
        if self
            .events
            .try_send(NetworkEvent::Message(inbound))
            .is_err()
        {
            self.metrics.events_dropped.inc();
            self.swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    MessageAcceptance::Ignore,
                );
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::InboundRequest { request } => self.on_kad_inbound(request),
            kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            } => match result {
                QueryResult::PutRecord(result) => {
                    if let Some((key, reply)) = self.pending_puts.remove(&id) {
                        let _ = reply.send(
                            result
                                .map(|_| key)
                                .map_err(|e| P2pError::Dht(e.to_string())),
                        );
                    }
                }
                QueryResult::GetRecord(Ok(GetRecordOk::FoundRecord(found))) => {
                    if !is_valid_record(&found.record.key, &found.record.value) {
                        tracing::debug!(peer = ?found.peer, "ignoring record that fails key = hash(value)");
                        return;
                    }
                    if let Some(reply) = self.pending_gets.remove(&id) {
                        let _ = reply.send(Ok(found.record.value));
                        if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                            query.finish();
                        }
                    }
                }
                QueryResult::GetRecord(other) => {
                    if step.last
                        && let Some(reply) = self.pending_gets.remove(&id)
                    {
                        let err = match other {
                            Err(kad::GetRecordError::NotFound { .. }) | Ok(_) => {
                                P2pError::RecordNotFound
                            }
                            Err(e) => P2pError::Dht(e.to_string()),
                        };
                        let _ = reply.send(Err(err));
                    }
                }
                QueryResult::StartProviding(result) => {
                    if let Some((cid, reply)) = self.pending_provides.remove(&id) {
                        // The local provider record exists even when no remote took a copy.
                        if let Err(err) = &result {
                            tracing::debug!(%err, "provider announcement reached no peer");
                        }
                        let _: Option<AddProviderOk> = result.ok();
                        let _ = reply.send(Ok(cid));
                    }
                }
                QueryResult::GetProviders(result) => {
                    if let Some(lookup) = self.pending_providers.get_mut(&id)
                        && let Ok(GetProvidersOk::FoundProviders { providers, .. }) = result
                    {
                        lookup.found.extend(providers);
                    }
                    let done = step.last
                        || self
                            .pending_providers
                            .get(&id)
                            .is_some_and(|l| !l.all && !l.found.is_empty());
                    if done && let Some(lookup) = self.pending_providers.remove(&id) {
                        let _ = lookup.reply.send(Ok(lookup.found));
                        if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                            query.finish();
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// With inserts filtered, Kademlia hands us inbound records to check before storing.
    fn on_kad_inbound(&mut self, request: InboundRequest) {
        use libp2p::kad::store::RecordStore;
        match request {
            InboundRequest::PutRecord {
                source,
                record: Some(record),
                ..
            } => {
                if !is_valid_record(&record.key, &record.value) {
                    tracing::debug!(%source, "refusing DHT record: key is not hash(value)");
                    return;
                }
                if let Err(err) = self.swarm.behaviour_mut().kad.store_mut().put(record) {
                    tracing::debug!(%source, %err, "DHT store refused record");
                }
            }
            InboundRequest::AddProvider {
                record: Some(record),
            } => {
                if let Err(err) = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .store_mut()
                    .add_provider(record)
                {
                    tracing::debug!(%err, "DHT store refused provider record");
                }
            }
            _ => {}
        }
    }

    fn on_transfer(&mut self, event: request_response::Event<ChunkRequest, ChunkResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => {
                    let response = if self.rate_limiter.allow(peer, Instant::now()) {
                        self.metrics.requests_served.inc();
                        self.provided.answer(&request)
                    } else {
                        self.metrics.requests_rate_limited.inc();
                        ChunkResponse::RateLimited
                    };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .transfer
                        .send_response(channel, response);
                }
                Message::Response {
                    request_id,
                    response,
                } => settle_outbound(&mut self.pending_requests, request_id, Ok(response)),
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => fail_outbound(&mut self.pending_requests, peer, request_id, error),
            _ => {}
        }
    }
}

/// Callers waiting on outbound request-response requests, by request id (transfer, RPC).
pub(crate) type PendingRequests<T> =
    HashMap<OutboundRequestId, oneshot::Sender<Result<T, P2pError>>>;

/// Hands an outbound request's outcome to its waiting caller, if the caller is still known
/// (a caller that gave up has dropped its receiver; the send error is ignored then).
pub(crate) fn settle_outbound<T>(
    pending: &mut PendingRequests<T>,
    request_id: OutboundRequestId,
    outcome: Result<T, P2pError>,
) {
    if let Some(reply) = pending.remove(&request_id) {
        let _ = reply.send(outcome);
    }
}

/// Fails an outbound request's waiting caller with the transport's reason.
pub(crate) fn fail_outbound<T>(
    pending: &mut PendingRequests<T>,
    peer: PeerId,
    request_id: OutboundRequestId,
    error: request_response::OutboundFailure,
) {
    settle_outbound(pending, request_id, Err(request_error(peer, error)));
}

fn request_error(peer: PeerId, error: request_response::OutboundFailure) -> P2pError {
    P2pError::Request {
        peer: peer.to_string(),
        reason: error.to_string(),
    }
}
