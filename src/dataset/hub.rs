//! Hugging Face Hub access: cache-first lookups and `tokenomics fetch` downloads.
//!
//! * **Cache.** `$HF_HOME/hub` (else `~/.cache/huggingface/hub`), the layout
//!   Python `huggingface_hub` writes. Building requests only ever reads the
//!   cache ([`cached_parquet`], [`cached_tokenizer`]); a file that is not there
//!   is an error that says to run `tokenomics fetch <manifest>`. No network is
//!   touched while preparing a run.
//! * **Downloads** ([`fetch_parquet`], [`fetch_tokenizer`]) go through hf-hub
//!   0.4 to `HF_ENDPOINT` (default `https://huggingface.co`) and skip files that
//!   are already cached. hf-hub ignores `HF_TOKEN`, so we read it ourselves and
//!   pass it on; without it, the token file `$HF_HOME/token` is used.
//! * **Datasets** are read from the Hub's Parquet conversion: revision
//!   `refs/convert/parquet` (or the configured `revision`), files
//!   `{config or "default"}/{split}/0000.parquet`, `0001.parquet`, ... Shards are
//!   tried in order and the first missing one ends the list (the Hub numbers
//!   them without gaps); the cache is read the same way. Splits over 5 GB are
//!   converted only partially, under `{config}/partial-{split}/`, which is used
//!   when `{split}/` has no shards.

use std::path::PathBuf;

use hf_hub::api::tokio::{Api, ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};

use super::DatasetError;

/// The revision holding the Hub's Parquet conversion of a dataset.
pub const PARQUET_REVISION: &str = "refs/convert/parquet";

/// Where and how to reach the Hub; see the module docs.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// The hub cache directory (the one ending in `hub`); None when neither
    /// `HF_HOME` nor `HOME` is set.
    pub cache_dir: Option<PathBuf>,
    /// Base URL of the Hub.
    pub endpoint: String,
    /// Access token (from `HF_TOKEN`); None falls back to `$HF_HOME/token`.
    pub token: Option<String>,
    /// Show download progress bars.
    pub progress: bool,
}

impl HubConfig {
    /// Reads `HF_HOME`, `HF_ENDPOINT` and `HF_TOKEN`; progress bars when stderr is a terminal.
    #[must_use]
    pub fn from_env() -> Self {
        use std::io::IsTerminal;
        let cache_dir = match std::env::var_os("HF_HOME") {
            Some(home) if !home.is_empty() => Some(PathBuf::from(home).join("hub")),
            _ => std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| {
                PathBuf::from(h)
                    .join(".cache")
                    .join("huggingface")
                    .join("hub")
            }),
        };
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "https://huggingface.co".to_string());
        let token = std::env::var("HF_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty());
        HubConfig {
            cache_dir,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
            progress: std::io::stderr().is_terminal(),
        }
    }

    fn cache(&self, what: &str) -> Result<Cache, DatasetError> {
        self.cache_dir
            .clone()
            .map(Cache::new)
            .ok_or_else(|| DatasetError::NotCached {
                what: what.to_string(),
                hint: "no Hugging Face cache directory: set HF_HOME (or HOME)".to_string(),
            })
    }

    fn api(&self, what: &str) -> Result<Api, DatasetError> {
        let mut b = ApiBuilder::from_cache(self.cache(what)?)
            .with_endpoint(self.endpoint.clone())
            .with_progress(self.progress);
        if self.token.is_some() {
            b = b.with_token(self.token.clone());
        }
        b.build().map_err(|e| DatasetError::Download {
            what: what.to_string(),
            message: error_chain(&e),
            hint: "check HF_TOKEN and HF_ENDPOINT".to_string(),
        })
    }
}

/// A dataset on the Hub, as the Parquet reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HubDataset {
    pub repo: String,
    pub config: String,
    pub split: String,
    pub revision: String,
}

impl HubDataset {
    pub(crate) fn new(
        repo: &str,
        config: Option<&str>,
        split: &str,
        revision: Option<&str>,
    ) -> Self {
        HubDataset {
            repo: repo.to_string(),
            config: config.unwrap_or("default").to_string(),
            split: split.to_string(),
            revision: revision.unwrap_or(PARQUET_REVISION).to_string(),
        }
    }

    /// How errors and reports name it, e.g. `acme/prompts (default/train)`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "Hugging Face dataset {} ({}/{})",
            self.repo, self.config, self.split
        )
    }

    fn repo(&self) -> Repo {
        Repo::with_revision(self.repo.clone(), RepoType::Dataset, self.revision.clone())
    }

    fn shard(&self, dir: &str, i: usize) -> String {
        format!("{}/{dir}/{i:04}.parquet", self.config)
    }

    fn dirs(&self) -> [String; 2] {
        [self.split.clone(), format!("partial-{}", self.split)]
    }
}

fn fetch_hint(manifest: &str) -> String {
    format!("run `tokenomics fetch {manifest}` to download it (needs network access to the Hub)")
}

/// The cached Parquet shards of `ds`, in order; an error when none is cached.
pub(crate) fn cached_parquet(
    hub: &HubConfig,
    ds: &HubDataset,
    manifest: &str,
) -> Result<Vec<PathBuf>, DatasetError> {
    let what = ds.describe();
    let cache = hub.cache(&what)?.repo(ds.repo());
    for dir in ds.dirs() {
        let shards: Vec<PathBuf> = (0..).map_while(|i| cache.get(&ds.shard(&dir, i))).collect();
        if !shards.is_empty() {
            return Ok(shards);
        }
    }
    Err(DatasetError::NotCached {
        what: format!("{what}, revision {}", ds.revision),
        hint: fetch_hint(manifest),
    })
}

/// The cached `tokenizer.json` of a model repo.
pub(crate) fn cached_tokenizer(
    hub: &HubConfig,
    repo: &str,
    revision: Option<&str>,
    manifest: &str,
) -> Result<PathBuf, DatasetError> {
    let what = format!("tokenizer.json of model {repo}");
    let cache = hub.cache(&what)?.repo(model_repo(repo, revision));
    cache
        .get("tokenizer.json")
        .ok_or_else(|| DatasetError::NotCached {
            what,
            hint: fetch_hint(manifest),
        })
}

fn model_repo(repo: &str, revision: Option<&str>) -> Repo {
    Repo::with_revision(
        repo.to_string(),
        RepoType::Model,
        revision.unwrap_or("main").to_string(),
    )
}

/// Counts of one dataset fetch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FetchCount {
    pub downloaded: usize,
    pub cached: usize,
}

/// Downloads the Parquet shards of `ds` that are not cached yet.
pub(crate) async fn fetch_parquet(
    hub: &HubConfig,
    ds: &HubDataset,
) -> Result<FetchCount, DatasetError> {
    let what = ds.describe();
    let cache = hub.cache(&what)?.repo(ds.repo());
    let api = hub.api(&what)?.repo(ds.repo());
    for dir in ds.dirs() {
        let mut count = FetchCount::default();
        for i in 0.. {
            let name = ds.shard(&dir, i);
            if cache.get(&name).is_some() {
                count.cached += 1;
                continue;
            }
            match api.download(&name).await {
                Ok(_) => count.downloaded += 1,
                Err(e) if status_of(&e) == Some(404) => break,
                Err(e) => return Err(download_error(&what, &hub.endpoint, &e)),
            }
        }
        if count.downloaded + count.cached > 0 {
            return Ok(count);
        }
    }
    Err(DatasetError::Download {
        what: format!("{what}, revision {}", ds.revision),
        message: format!(
            "no Parquet files under {}/{}/ on {}",
            ds.config, ds.split, hub.endpoint
        ),
        hint: "check the repo, config and split names on the dataset's Hub page (\"Files and versions\", branch refs/convert/parquet)".to_string(),
    })
}

/// Downloads `tokenizer.json` of a model repo unless it is cached; true when downloaded.
pub(crate) async fn fetch_tokenizer(
    hub: &HubConfig,
    repo: &str,
    revision: Option<&str>,
) -> Result<bool, DatasetError> {
    let what = format!("tokenizer.json of model {repo}");
    let r = model_repo(repo, revision);
    if hub
        .cache(&what)?
        .repo(r.clone())
        .get("tokenizer.json")
        .is_some()
    {
        return Ok(false);
    }
    let api = hub.api(&what)?.repo(r);
    match api.download("tokenizer.json").await {
        Ok(_) => Ok(true),
        Err(e) => Err(download_error(&what, &hub.endpoint, &e)),
    }
}

fn status_of(e: &ApiError) -> Option<u16> {
    match e {
        ApiError::RequestError(r) => r.status().map(|s| s.as_u16()),
        ApiError::TooManyRetries(inner) => status_of(inner),
        _ => None,
    }
}

fn download_error(what: &str, endpoint: &str, e: &ApiError) -> DatasetError {
    let (message, hint) = match status_of(e) {
        Some(401 | 403) => (
            format!("access denied by {endpoint}"),
            "the repo may be gated or private: accept its terms on the Hub and set HF_TOKEN"
                .to_string(),
        ),
        Some(404) => (
            format!("not found on {endpoint}"),
            "check the repo name (and config/split/revision)".to_string(),
        ),
        Some(code) => (
            format!("{endpoint} answered HTTP {code}: {}", error_chain(e)),
            "try again later".to_string(),
        ),
        None => (
            error_chain(e),
            format!("check network access to {endpoint} (HF_ENDPOINT)"),
        ),
    };
    DatasetError::Download {
        what: what.to_string(),
        message,
        hint,
    }
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}
