//! The few Redis commands Vigie sends (`AUTH`, `PING`, `INFO`), over RESP2
//! on a plain TCP connection. Every read is bounded: a line by
//! [`MAX_LINE`], a bulk reply by [`MAX_BULK`], so a server (or something
//! else listening on the port) cannot make Vigie buffer without end.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};

/// Longest status, error or length line read, bytes.
pub const MAX_LINE: usize = 4096;
/// Largest bulk reply read, bytes: `INFO` answers some 5 KiB.
pub const MAX_BULK: usize = 1024 * 1024;

/// A reply Vigie can read: the RESP2 types its commands answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    /// `-ERR …`, `-WRONGPASS …`, `-NOPERM …`: the server's own words.
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
}

/// Why a command got no reply Vigie could read.
#[derive(Debug, thiserror::Error)]
pub enum RespError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("not a Redis reply: {0}")]
    Protocol(String),
}

/// One connection, any byte stream (TCP here, a buffer in tests).
#[derive(Debug)]
pub struct Connection<S> {
    stream: BufReader<S>,
}

impl<S: AsyncRead + tokio::io::AsyncWrite + Unpin> Connection<S> {
    pub fn new(stream: S) -> Self {
        Connection {
            stream: BufReader::new(stream),
        }
    }

    /// Sends one command (as a RESP array of bulk strings) and reads its reply.
    pub async fn command(&mut self, args: &[&[u8]]) -> Result<Reply, RespError> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.stream.get_mut().write_all(&out).await?;
        self.stream.get_mut().flush().await?;
        self.reply().await
    }

    async fn line(&mut self) -> Result<Vec<u8>, RespError> {
        let mut line = Vec::new();
        let n = (&mut self.stream)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Err(RespError::Closed);
        }
        if !line.ends_with(b"\r\n") {
            return Err(RespError::Protocol(if n > MAX_LINE {
                format!("a line longer than {MAX_LINE} bytes")
            } else {
                "a line cut short".into()
            }));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    async fn reply(&mut self) -> Result<Reply, RespError> {
        let line = self.line().await?;
        let (kind, rest) = line
            .split_first()
            .ok_or_else(|| RespError::Protocol("an empty line".into()))?;
        let text = || String::from_utf8_lossy(rest).into_owned();
        match kind {
            b'+' => Ok(Reply::Status(text())),
            b'-' => Ok(Reply::Error(text())),
            b':' => text()
                .parse()
                .map(Reply::Integer)
                .map_err(|_| RespError::Protocol(format!("integer {:?}", text()))),
            b'$' => {
                let len: i64 = text()
                    .parse()
                    .map_err(|_| RespError::Protocol(format!("length {:?}", text())))?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > MAX_BULK {
                    return Err(RespError::Protocol(format!(
                        "a reply of {len} bytes, over the {MAX_BULK} read"
                    )));
                }
                let mut body = vec![0; len + 2];
                self.stream.read_exact(&mut body).await.map_err(|e| {
                    if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        RespError::Closed
                    } else {
                        RespError::Io(e)
                    }
                })?;
                if !body.ends_with(b"\r\n") {
                    return Err(RespError::Protocol("a bulk reply without its end".into()));
                }
                body.truncate(len);
                Ok(Reply::Bulk(Some(body)))
            }
            other => Err(RespError::Protocol(format!(
                "a reply starting with {:?}",
                char::from(*other)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection whose peer has already written `answer`; returns the
    /// reply and what the connection sent.
    async fn exchange(answer: &[u8], args: &[&[u8]]) -> (Result<Reply, RespError>, Vec<u8>) {
        let (client, mut server) = tokio::io::duplex(4 * MAX_BULK);
        server.write_all(answer).await.expect("write");
        // Nothing more comes: a reply cut short meets the end of the stream.
        server.shutdown().await.expect("shutdown");
        let mut conn = Connection::new(client);
        let reply = conn.command(args).await;
        drop(conn);
        let mut sent = Vec::new();
        server.read_to_end(&mut sent).await.expect("read");
        (reply, sent)
    }

    #[tokio::test]
    async fn commands_are_arrays_of_bulk_strings() {
        let (reply, sent) = exchange(b"+OK\r\n", &[b"AUTH", b"vigie", b"p w"]).await;
        assert_eq!(reply.expect("reply"), Reply::Status("OK".into()));
        assert_eq!(
            sent,
            b"*3\r\n$4\r\nAUTH\r\n$5\r\nvigie\r\n$3\r\np w\r\n".to_vec()
        );
    }

    #[tokio::test]
    async fn each_reply_type_is_read() {
        let cases: [(&[u8], Reply); 5] = [
            (b"-NOPERM no\r\n", Reply::Error("NOPERM no".into())),
            (b":42\r\n", Reply::Integer(42)),
            (b"$5\r\na\r\nbc\r\n", Reply::Bulk(Some(b"a\r\nbc".to_vec()))),
            (b"$-1\r\n", Reply::Bulk(None)),
            (b"+PONG\r\n", Reply::Status("PONG".into())),
        ];
        for (answer, expected) in cases {
            let (reply, _) = exchange(answer, &[b"PING"]).await;
            assert_eq!(reply.expect("reply"), expected);
        }
    }

    #[tokio::test]
    async fn what_is_not_redis_or_too_large_is_an_error() {
        let huge = format!("${}\r\n", MAX_BULK + 1);
        let long_line = format!("+{}\r\n", "x".repeat(MAX_LINE + 10));
        let cases: [&[u8]; 6] = [
            b"HTTP/1.1 400 Bad Request\r\n",
            huge.as_bytes(),
            long_line.as_bytes(),
            b":twelve\r\n",
            b"$10\r\nshort",
            b"",
        ];
        for answer in cases {
            let (reply, _) = exchange(answer, &[b"INFO"]).await;
            assert!(
                reply.is_err(),
                "{:?}",
                String::from_utf8_lossy(&answer[..answer.len().min(40)])
            );
        }
    }
}
