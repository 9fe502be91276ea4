//! The embedded assets, their content-hashed names, and the three pages made from one layout.

use std::sync::LazyLock;

/// One embedded file.
pub(super) struct Asset {
    /// The name without hash, e.g. `dashboard.css`.
    pub name: &'static str,
    /// `stem.HASH.ext`, the name it is served under.
    pub hashed: String,
    pub body: &'static [u8],
    pub content_type: &'static str,
}

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/dashboard/assets/`.
const FILES: &[(&str, &[u8], &str)] = &[
    (
        "dashboard.css",
        include_bytes!("../../assets/dashboard.css"),
        CSS,
    ),
    ("common.js", include_bytes!("../../assets/common.js"), JS),
    ("grid.js", include_bytes!("../../assets/grid.js"), JS),
    ("jobs.js", include_bytes!("../../assets/jobs.js"), JS),
    ("books.js", include_bytes!("../../assets/books.js"), JS),
    (
        "favicon.svg",
        include_bytes!("../../assets/favicon.svg"),
        "image/svg+xml",
    ),
];

const LAYOUT: &str = include_str!("../../assets/layout.html");

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, body, content_type)| {
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                hashed: format!("{stem}.{:016x}.{ext}", fnv1a(body)),
                body,
                content_type,
            }
        })
        .collect()
});

/// FNV-1a, 64 bits: enough to tell versions of a file apart in a URL (not a security hash).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The asset served under `hashed`.
pub(super) fn find(hashed: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.hashed == hashed)
}

fn url(name: &str) -> String {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| format!("/dashboard/assets/{}", a.hashed))
        .unwrap_or_default()
}

/// The dashboard's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Page {
    Grid,
    Jobs,
    Books,
}

impl Page {
    const ALL: [Page; 3] = [Page::Grid, Page::Jobs, Page::Books];

    fn slug(self) -> &'static str {
        match self {
            Page::Grid => "grid",
            Page::Jobs => "jobs",
            Page::Books => "books",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Page::Grid => "Grid",
            Page::Jobs => "Jobs",
            Page::Books => "Books",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Page::Grid => include_str!("../../assets/grid.html"),
            Page::Jobs => include_str!("../../assets/jobs.html"),
            Page::Books => include_str!("../../assets/books.html"),
        }
    }
}

static PAGES: LazyLock<Vec<String>> = LazyLock::new(|| Page::ALL.map(render).to_vec());

/// The HTML of a page (made once).
pub(super) fn page(which: Page) -> &'static str {
    let i = Page::ALL.iter().position(|p| *p == which).unwrap_or(0);
    PAGES.get(i).map(String::as_str).unwrap_or_default()
}

fn render(which: Page) -> String {
    let mut html = LAYOUT
        .replace("{{body}}", which.body())
        .replace("{{title}}", which.title())
        .replace("{{page}}", which.slug())
        .replace("{{css}}", &url("dashboard.css"))
        .replace("{{favicon}}", &url("favicon.svg"))
        .replace("{{common_js}}", &url("common.js"))
        .replace("{{page_js}}", &url(&format!("{}.js", which.slug())));
    for p in Page::ALL {
        let current = if p == which {
            " aria-current=\"page\""
        } else {
            ""
        };
        html = html.replace(&format!("{{{{current_{}}}}}", p.slug()), current);
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_and_every_asset_named() {
        for p in Page::ALL {
            let html = page(p);
            assert!(!html.contains("{{"), "{p:?}: {html}");
            assert!(html.contains(&url("dashboard.css")));
            assert!(html.contains(&url(&format!("{}.js", p.slug()))));
        }
        assert!(ASSETS.iter().all(|a| find(&a.hashed).is_some()));
    }
}
