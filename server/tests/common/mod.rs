//! Helpers for the server's integration tests: a server on 127.0.0.1:0, a
//! viewer and a panel client over real WebSockets, and a bare HTTP request.

#![allow(dead_code)] // each test file uses its own subset

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parterre_server::{
    config::{Config, Settings},
    server::{RunningServer, start},
    webinar::Context,
};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, lookup_host},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, protocol::CloseFrame},
};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server in `context`, in memory, on a free loopback port.
pub async fn server(context: Context) -> RunningServer {
    start(Config::ephemeral(context).expect("config"))
        .await
        .expect("server starts")
}

/// A server with `settings`, in memory, on a free loopback port.
pub async fn server_with(settings: Settings) -> RunningServer {
    let config = Config::resolve(Settings {
        addr: Some(([127, 0, 0, 1], 0).into()),
        db: Some(":memory:".into()),
        ..settings
    })
    .expect("config");
    start(config).await.expect("server starts")
}

pub fn viewer_url(server: &RunningServer) -> String {
    format!("ws://{}/ws/viewer?webinar={}", server.addr, server.webinar.id)
}

pub async fn viewer(server: &RunningServer) -> Socket {
    connect_async(viewer_url(server)).await.expect("viewer connects").0
}

pub async fn panel(server: &RunningServer) -> Socket {
    let url = format!("ws://{}/panel/live?token={}", server.addr, server.token.as_str());
    connect_async(url).await.expect("panel connects").0
}

/// A valid traits message with this attention and age.
pub fn traits(attention: f32, age_years: f32) -> String {
    format!(
        r#"{{"type":"traits","traits":{{"v":1,"face_present":true,"motion":0.1,"attention":{attention},"age_years":{age_years},"glasses":0.9}}}}"#
    )
}

pub async fn send(socket: &mut Socket, text: &str) {
    socket.send(Message::Text(text.into())).await.expect("send");
}

/// The next panel frame satisfying `wanted`, within 10 s.
pub async fn frame_where(panel: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    let wait = async {
        loop {
            match panel.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(text.as_str()).expect("frame is JSON");
                    if wanted(&frame) {
                        return frame;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("panel feed ended: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the panel showed it within 10 s")
}

/// The close frame the server sends next (skipping other messages).
pub async fn close_frame(socket: &mut Socket) -> Option<CloseFrame> {
    let wait = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("no close frame, an error: {e}"),
                None => return None,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("closed within 5 s")
}

/// A bare HTTP/1.1 request; returns the status and the body.
pub async fn http(
    server: &RunningServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let response = request(server, method, path, headers, body).await;
    (response.status, String::from_utf8_lossy(&response.body).into_owned())
}

/// A response as read off the socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A bare HTTP/1.1 request (`Connection: close`); the whole response.
pub async fn request(
    server: &RunningServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> RawResponse {
    let addr = lookup_host(server.addr).await.expect("addr").next().expect("one addr");
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    RawResponse {
        status,
        headers,
        body: response[split + 4..].to_vec(),
    }
}
