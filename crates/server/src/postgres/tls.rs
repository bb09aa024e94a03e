//! TLS for the PostgreSQL client protocol: `sslmode=require` (or
//! `verify-ca`, `verify-full`) in a source's URL. tokio-postgres asks the
//! server for TLS on the connection Vigie opened, then hands it here; the
//! certificate is verified as every outside source's is
//! ([`crate::sources::tls_connector`]): its chain and the host name,
//! whatever the mode says.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_postgres::tls::{ChannelBinding, TlsConnect};

/// How a source's URL asks to connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Tls,
}

/// The `sslmode` of a URL's query: none or `disable` is a plain connection;
/// `require`, `verify-ca` and `verify-full` are TLS. `prefer` and `allow`
/// (which fall back to plain text when the server refuses) and anything
/// else are refused.
pub fn mode(url: &reqwest::Url) -> Result<Mode, String> {
    let Some(query) = url.query() else {
        return Ok(Mode::Plain);
    };
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    match pairs.as_slice() {
        [(k, v)] if k == "sslmode" => match v.as_str() {
            "disable" => Ok(Mode::Plain),
            "require" | "verify-ca" | "verify-full" => Ok(Mode::Tls),
            "prefer" | "allow" => Err(format!(
                "sslmode={v} would fall back to plain text: say sslmode=require or sslmode=disable"
            )),
            other => Err(format!(
                "sslmode={other} is not one of disable, require, verify-ca, verify-full"
            )),
        },
        _ => Err(format!("the query may only be sslmode=…, not {query:?}")),
    }
}

/// What tokio-postgres calls to start TLS on the connection.
pub struct Connect {
    pub connector: tokio_rustls::TlsConnector,
    pub name: rustls::pki_types::ServerName<'static>,
}

impl TlsConnect<TcpStream> for Connect {
    type Stream = Stream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream>> + Send>>;

    fn connect(self, stream: TcpStream) -> Self::Future {
        Box::pin(async move { self.connector.connect(self.name, stream).await.map(Stream) })
    }
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A TLS connection to PostgreSQL.
#[derive(Debug)]
pub struct Stream(tokio_rustls::client::TlsStream<TcpStream>);

impl tokio_postgres::tls::TlsStream for Stream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(url: &str) -> Result<Mode, String> {
        mode(&reqwest::Url::parse(url).expect("url"))
    }

    #[test]
    fn sslmode_says_plain_or_tls_and_never_falls_back() {
        assert_eq!(of("postgres://db/app"), Ok(Mode::Plain));
        assert_eq!(of("postgres://db/app?sslmode=disable"), Ok(Mode::Plain));
        for m in ["require", "verify-ca", "verify-full"] {
            assert_eq!(of(&format!("postgres://db/app?sslmode={m}")), Ok(Mode::Tls));
        }
        for m in ["prefer", "allow"] {
            let e = of(&format!("postgres://db/app?sslmode={m}")).expect_err(m);
            assert!(e.contains("fall back"), "{e}");
        }
        assert!(of("postgres://db/app?sslmode=yes").is_err());
        assert!(of("postgres://db/app?sslmode=require&sslrootcert=/x").is_err());
        assert!(of("postgres://db/app?host=/tmp").is_err());
    }
}
