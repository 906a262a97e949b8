//! Emulated link latency for benchmarks on kernels without the `netem` qdisc.
//!
//! [`DelayedRead`] wraps a TCP stream and hands every byte it reads to the layers above (noise,
//! yamux, every protocol) only `delay` after it came off the socket. Applied to every connection
//! of every peer, each byte crosses exactly one delaying reader, so this is a one-way latency of
//! `delay` on every link, like `tc qdisc add dev lo root netem delay <delay>` on loopback: data
//! and control traffic alike, gossip, IDONTWANT and DHT. Writes pass through unchanged. Enabled
//! only by [`crate::NetworkConfig::link_delay`]; production nodes never use it.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};

/// Bytes read from the socket per call.
const READ_CHUNK: usize = 16 * 1024;

/// Bytes held back at most; beyond this the socket is not read, so TCP flow control applies.
const MAX_HELD_BYTES: usize = 4 * 1024 * 1024;

/// A stream whose inbound bytes are released `delay` after they were read.
pub struct DelayedRead<S> {
    inner: S,
    delay: Duration,
    /// Chunks read from the socket, each with the moment it may be handed on.
    held: VecDeque<(Instant, Vec<u8>)>,
    held_bytes: usize,
    /// How much of the front chunk was already handed on.
    offset: usize,
    scratch: Box<[u8]>,
    timer: Pin<Box<Sleep>>,
    /// The socket reached its end; reported once the held bytes are handed on.
    eof: bool,
    /// The socket failed; reported once the held bytes are handed on.
    error: Option<io::Error>,
}

impl<S> DelayedRead<S> {
    /// Wraps `inner`. Must be called inside a tokio runtime (it creates a timer).
    pub fn new(inner: S, delay: Duration) -> Self {
        Self {
            inner,
            delay,
            held: VecDeque::new(),
            held_bytes: 0,
            offset: 0,
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            eof: false,
            error: None,
        }
    }
}

impl<S> std::fmt::Debug for DelayedRead<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayedRead")
            .field("delay", &self.delay)
            .field("held_bytes", &self.held_bytes)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + Unpin> DelayedRead<S> {
    /// Reads whatever the socket has now, stamping each chunk with its release time.
    fn fill(&mut self, cx: &mut Context<'_>) {
        while !self.eof && self.error.is_none() && self.held_bytes < MAX_HELD_BYTES {
            match Pin::new(&mut self.inner).poll_read(cx, &mut self.scratch) {
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(n)) => {
                    let chunk = self.scratch.get(..n).unwrap_or_default().to_vec();
                    self.held_bytes += chunk.len();
                    self.held.push_back((Instant::now() + self.delay, chunk));
                }
                Poll::Ready(Err(e)) => self.error = Some(e),
                Poll::Pending => break,
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DelayedRead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.fill(cx);
        loop {
            let Some((due, chunk)) = this.held.front() else {
                if let Some(e) = this.error.take() {
                    return Poll::Ready(Err(e));
                }
                // Not at the end: `fill` saw `Pending`, so the socket will wake this task.
                return if this.eof {
                    Poll::Ready(Ok(0))
                } else {
                    Poll::Pending
                };
            };
            if *due > Instant::now() {
                let due = *due;
                this.timer.as_mut().reset(due);
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                continue;
            }
            let rest = chunk.get(this.offset..).unwrap_or_default();
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            this.offset += n;
            if this.offset >= chunk.len() {
                this.held_bytes -= chunk.len();
                this.held.pop_front();
                this.offset = 0;
                // Room again: read on, so the socket's waker is registered for more data.
                this.fill(cx);
            }
            return Poll::Ready(Ok(n));
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DelayedRead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::{AsyncReadExt, AsyncWriteExt, Cursor};

    #[tokio::test]
    async fn bytes_arrive_after_the_delay_and_intact() {
        let data: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
        let delay = Duration::from_millis(10);
        let mut stream = DelayedRead::new(Cursor::new(data.clone()), delay);
        let start = Instant::now();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, data);
        assert!(start.elapsed() >= delay);
        stream.write_all(b"x").await.unwrap();
    }

    /// The full stack (multistream, noise, yamux, gossipsub, Kademlia) works over delayed links,
    /// and a message between neighbours cannot arrive sooner than one link delay.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn peers_over_delayed_links_form_a_mesh_and_deliver_no_sooner_than_the_delay() {
        use crate::GossipTopic;
        use crate::testnet::{Testnet, TestnetOptions, poll_until};

        let delay = Duration::from_millis(40);
        let mut options = TestnetOptions::new(2);
        options.link_delay = Some(delay);
        let net = Testnet::start(options).await.unwrap();
        let topic = GossipTopic::Tasks;
        net.wait_for_mesh(topic, 1, Duration::from_secs(120))
            .await
            .unwrap();
        net.bootstrap
            .client
            .publish(topic, b"over a slow link".to_vec())
            .await
            .unwrap();
        for peer in &net.peers {
            let received = poll_until(
                Duration::from_secs(60),
                Duration::from_millis(20),
                || async { peer.inbox.snapshot().into_iter().next() },
            )
            .await
            .expect("message delivered");
            assert_eq!(received.body, b"over a slow link");
            let latency = received.received_at_micros - received.sent_at_micros;
            assert!(latency >= delay.as_micros() as u64, "{latency} us");
        }
        net.stop().await;
    }

    #[tokio::test]
    async fn zero_delay_is_a_pass_through() {
        let mut stream = DelayedRead::new(Cursor::new(b"hello".to_vec()), Duration::ZERO);
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "hello");
    }
}
