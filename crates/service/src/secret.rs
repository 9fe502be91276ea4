//! The API token and the files a client discovers the server by, beside the queue:
//! `<queue>.token` (0600, created on first start) and `<queue>.addr` (the bound address).

use std::fmt;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The bearer token; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// Wraps a token read from a flag or the environment.
    pub fn new(text: impl Into<String>) -> Token {
        Token(text.into().trim().to_owned())
    }

    /// The token's text, for an `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// `<queue file>.token`.
pub fn token_path(queue: &Path) -> PathBuf {
    sibling(queue, "token")
}

/// `<queue file>.addr`.
pub fn addr_path(queue: &Path) -> PathBuf {
    sibling(queue, "addr")
}

fn sibling(queue: &Path, ext: &str) -> PathBuf {
    let mut name = queue
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".");
    name.push(ext);
    queue.with_file_name(name)
}

/// Reads the token file, or creates it (mode 0600, 32 random bytes as hex) if there is none.
pub fn load_or_create_token(path: &Path) -> std::io::Result<Token> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(Token::new(text)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes);
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(Token(text))
}

/// Fills `buf` from the kernel's random source; without one, from the clock and the pid
/// (ids stay unique; tokens would be weak, so `load_or_create_token` is the only caller that
/// matters and Linux always has /dev/urandom).
pub fn fill_random(buf: &mut [u8]) {
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_ok()
    {
        return;
    }
    let seed = u64::from(std::process::id()) ^ (buf.as_ptr() as u64);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seed.rotate_left(i as u32 * 7) & 0xff) as u8;
    }
}

/// Writes the bound address atomically (write, fsync, rename), so a reader never sees half.
pub fn write_addr(path: &Path, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let tmp = sibling(path, "tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(format!("http://{addr}\n").as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}
