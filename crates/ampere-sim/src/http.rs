//! The few HTTP requests a charger makes: download a firmware image, upload a log file.
//!
//! hyper's client connection (already in the build for the server side) over our own
//! TCP/TLS stream: no connection pool, no proxy, no cookie jar — one request per
//! connection, as charger firmware does it. Redirects are followed (up to 4); user info in
//! the URL (`http://user:pass@host/…`) becomes Basic auth.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;

/// How a log file is sent to the location the CSMS gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadMethod {
    /// `multipart/form-data` POST to the location, the file in field `file`.
    #[default]
    Post,
    /// PUT of the file's bytes to `location/FILENAME`.
    Put,
}

impl std::str::FromStr for UploadMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "post" => Ok(Self::Post),
            "put" => Ok(Self::Put),
            other => Err(format!("upload method `{other}`: expected post or put")),
        }
    }
}

/// Longest a transfer may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Downloads `url`; the body.
pub async fn get(url: &str, tls: Option<&Arc<ClientConfig>>) -> Result<Bytes, String> {
    let mut url = url.to_owned();
    for _ in 0..4 {
        let (status, location, body) = request(&url, Method::GET, None, Bytes::new(), tls).await?;
        if status.is_redirection()
            && let Some(next) = location
        {
            url = resolve(&url, &next);
            continue;
        }
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        return Ok(body);
    }
    Err(format!("GET {url}: too many redirects"))
}

/// Uploads `content` as `file_name` to `url`.
pub async fn upload(
    url: &str,
    method: UploadMethod,
    file_name: &str,
    content: Bytes,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<(), String> {
    let (method, url, content_type, body) = match method {
        UploadMethod::Put => (
            Method::PUT,
            format!("{}/{file_name}", url.trim_end_matches('/')),
            "text/plain".to_owned(),
            content,
        ),
        UploadMethod::Post => {
            let boundary = format!("ampere-sim-{:016x}", rand::random::<u64>());
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{file_name}\"\r\nContent-Type: text/plain\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&content);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            (
                Method::POST,
                url.to_owned(),
                format!("multipart/form-data; boundary={boundary}"),
                Bytes::from(body),
            )
        }
    };
    let (status, _, _) = request(&url, method.clone(), Some(&content_type), body, tls).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{method} {url}: HTTP {status}"))
    }
}

/// A redirect target relative to `base` made absolute.
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let origin_end = base
        .find("://")
        .and_then(|s| base[s + 3..].find('/').map(|p| s + 3 + p))
        .unwrap_or(base.len());
    format!(
        "{}/{}",
        &base[..origin_end],
        location.trim_start_matches('/')
    )
}

async fn request(
    url: &str,
    method: Method,
    content_type: Option<&str>,
    body: Bytes,
    tls: Option<&Arc<ClientConfig>>,
) -> Result<(StatusCode, Option<String>, Bytes), String> {
    let uri: Uri = url.parse().map_err(|e| format!("URL {url}: {e}"))?;
    let secure = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        other => return Err(format!("URL {url}: scheme {other:?} is not http(s)")),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("URL {url}: no host"))?;
    let host = authority.host();
    let port = authority
        .port_u16()
        .unwrap_or(if secure { 443 } else { 80 });
    // Credentials in the URL (common in charger locations) become Basic auth.
    let userinfo = authority
        .as_str()
        .rsplit_once('@')
        .map(|(user, _)| user.to_owned());
    let host_header = match authority.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let exchange = async {
        let default_tls;
        let tls = match (secure, tls) {
            (false, _) => None,
            (true, Some(config)) => Some(config),
            (true, None) => {
                default_tls = crate::tls::client_config(None, None)?;
                Some(&default_tls)
            }
        };
        let stream = crate::tls::connect(host, port, tls)
            .await
            .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let driver = tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(HOST, host_header)
            .header(
                USER_AGENT,
                concat!("ampere-sim/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(userinfo) = userinfo {
            let decoded = percent_decode(&userinfo);
            request = request.header(
                AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(decoded)
                ),
            );
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("{url}: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        driver.abort();
        Ok((status, location, body))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{url}: no answer in {TIMEOUT:?}"))?
}

/// `%XX` escapes in URL user info decoded (a password may hold `@` or `:` escaped).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_against_the_origin() {
        assert_eq!(
            resolve("http://h:8/a/b?x", "/c/d"),
            "http://h:8/c/d".to_owned()
        );
        assert_eq!(resolve("http://h/a", "https://o/z"), "https://o/z");
        assert_eq!(percent_decode("u:p%40ss"), b"u:p@ss".to_vec());
    }
}
