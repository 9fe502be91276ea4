//! Headless Chromium for the tests that render kite's HTML (`kite report`, the dashboard): the
//! binary, and a command with the flags that make a rendering reproducible.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary: `$CHROMIUM`, else `/usr/bin/chromium`. Panics with how to install it.
pub fn binary() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: this test renders HTML in headless Chromium. Install the Debian package \
         `chromium` (`apt-get install -y --no-install-recommends chromium`; scripts/test.sh and \
         .ci/run do), or set CHROMIUM to a Chromium binary",
        path.display()
    );
    path
}

/// `chromium --headless …` under `timeout 120`, with its profile in `home`: no sandbox, GPU or
/// scrollbars, scale 1 and sRGB colours, so pixels can be checked. Add the page's flags, then
/// its URL.
pub fn headless(home: &Path) -> Command {
    let mut c = Command::new("timeout");
    c.arg("120")
        .arg(binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--force-color-profile=srgb",
        ])
        .env("HOME", home);
    c
}
