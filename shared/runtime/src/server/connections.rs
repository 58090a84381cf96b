//! A cap on open connections (issue #15, item 7). Each HTTP/2 connection
//! costs the server tens of kilobytes whether or not it ever makes a call,
//! and memory the allocator took for a flood of them is not given back to
//! the system; so at most `ACADEMY_MAX_CONNECTIONS` are served at once and
//! the accept loop waits (the kernel's backlog holds the rest) until one
//! closes. Connections also end: idle ones at the connection age, dead
//! ones at the keep-alive timeout.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An accepted connection holding one of the server's connection slots
/// until it closes.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

/// Accepted connections of `listener`, at most `limit` open at once; with
/// `TCP_NODELAY` (small gRPC frames must not wait for Nagle's algorithm).
pub fn incoming(
    listener: TcpListener,
    limit: usize,
) -> impl futures::Stream<Item = io::Result<Counted>> + Send + 'static {
    let slots = Arc::new(Semaphore::new(limit.max(1)));
    futures::stream::unfold((listener, slots), |(listener, slots)| async move {
        let slot = slots.clone().acquire_owned().await.ok()?;
        let accepted = listener.accept().await.map(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            Counted {
                stream,
                _slot: slot,
            }
        });
        Some((accepted, (listener, slots)))
    })
}

impl Connected for Counted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::time::Duration;

    #[tokio::test]
    async fn the_connection_past_the_limit_waits_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut accepted = Box::pin(incoming(listener, 2));
        let _clients: Vec<_> =
            futures::future::join_all((0..3).map(|_| TcpStream::connect(addr))).await;
        let first = accepted.next().await.expect("one").expect("accepted");
        let _second = accepted.next().await.expect("two").expect("accepted");
        let third = tokio::time::timeout(Duration::from_millis(200), accepted.next()).await;
        assert!(third.is_err(), "a third connection is not served yet");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), accepted.next()).await;
        assert!(
            matches!(third, Ok(Some(Ok(_)))),
            "served once a slot is free"
        );
    }
}
