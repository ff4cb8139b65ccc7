//! Dataset rows: reading local files and Parquet, and coercing column values.
//!
//! Every reader yields a [`RawTable`]: the columns seen, and per row either a
//! bare string (txt lines, JSON strings) or the requested columns as [`Cell`]s.
//! [`rows_from_table`] then applies the column rules:
//!
//! * **Text** (`prompt_column`): a string stays as it is; a map gives its
//!   `content`, else `value`, else `text`; a list gives its first element
//!   (coerced the same way); numbers and booleans give their decimal text;
//!   null gives nothing. Empty texts are skipped unless `image_column` is set.
//! * **Messages** (`messages_column`): a list of `{role, content}` maps
//!   (`{from, value}` with `human`/`gpt` is accepted too).
//! * **Images** (`image_column`): bytes, a `{bytes, path}` map, a `data:` URI,
//!   base64 text, a file path (relative to the dataset file), or a list of these.
//! * **Size limits**, so that a broken file cannot exhaust memory:
//!   - a row whose text (or, for a `messages_column`, whose messages together)
//!     is longer than [`MAX_TEXT_BYTES`] (1 MiB) is skipped and counted (the
//!     count is logged); such rows are almost always data errors. A `.txt` line
//!     over that size is skipped while it is read, never held whole;
//!   - a `.jsonl` line longer than [`MAX_LINE_BYTES`] (64 MiB, room for inline
//!     images) is skipped the same way, without being held in memory;
//!   - `.json` files are parsed whole, so they may be at most
//!     [`MAX_WHOLE_FILE_BYTES`] (1 GiB); larger ones are an error suggesting
//!     `.jsonl` or `.parquet`, which are read row by row (and stop at `max_rows`);
//!   - `.txt`, `.jsonl` and `.csv` files are read row by row, at most
//!     [`MAX_STREAM_BYTES`] (4 GiB) before `max_rows` rows are found;
//!   - every limit counts the bytes actually read, so it holds for files whose
//!     size the file system does not know (a pipe, a device such as `/dev/zero`).
//! * **CSV** (`.csv`, `.tsv`): read with the `csv` crate — a header row, quoted
//!   fields with `""` escapes and embedded newlines, CRLF or LF, a UTF-8 BOM
//!   skipped; the delimiter is `,` (`\t` for `.tsv`) unless the dataset's
//!   `delimiter` says otherwise; rows may have fewer fields than the header.
//!
//! A missing column is an error naming the source and the column and listing the
//! columns present.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::DatasetError;

mod columnar;
mod formats;
mod rows;
pub(crate) use columnar::read_parquet;
use formats::{csv_delimiter, read_csv, read_json, read_jsonl, read_txt};
pub(crate) use rows::{rows_from_table, Rows};

/// Largest text accepted from a dataset row, in bytes (1 MiB): the prompt, or
/// all the messages of a `messages_column` row together.
pub(crate) const MAX_TEXT_BYTES: usize = 1 << 20;

/// Longest line read from a `.jsonl` dataset, in bytes (64 MiB); longer lines
/// are skipped and counted with the oversized rows.
pub(crate) const MAX_LINE_BYTES: usize = 64 << 20;

/// Largest `.json` dataset file, in bytes (1 GiB): it is parsed whole.
pub(crate) const MAX_WHOLE_FILE_BYTES: u64 = 1 << 30;

/// Most bytes read from a `.txt`, `.jsonl` or `.csv` dataset (4 GiB): rows are
/// held in memory, so a file larger than this needs `max_rows` (or Parquet).
pub(crate) const MAX_STREAM_BYTES: u64 = 4 << 30;

/// A reader that fails once more than `left` bytes have been read from it, so a
/// size limit holds whatever the file system says about the file's size.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: std::io::Read> Bounded<R> {
    fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a file of exactly `limit` bytes from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!(
                    "more than {} MiB",
                    self.limit >> 20
                ))),
            };
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A column value, whatever format it came from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Bytes),
    List(Vec<Cell>),
    Map(Vec<(String, Cell)>),
}

impl Cell {
    fn get(&self, key: &str) -> Option<&Cell> {
        match self {
            Cell::Map(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a cell (see the module docs); None for null and unusable values.
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Cell::Str(s) => Some(s.clone()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Map(_) => ["content", "value", "text"]
                .iter()
                .find_map(|k| self.get(k).filter(|c| **c != Cell::Null))
                .and_then(Cell::text),
            Cell::List(items) => items.first().and_then(Cell::text),
            Cell::Null | Cell::Bytes(_) => None,
        }
    }

    fn from_json(v: &serde_json::Value) -> Cell {
        match v {
            serde_json::Value::Null => Cell::Null,
            serde_json::Value::Bool(b) => Cell::Bool(*b),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Cell::Float(n.as_f64().unwrap_or(f64::NAN)), Cell::Int),
            serde_json::Value::String(s) => Cell::Str(s.clone()),
            serde_json::Value::Array(a) => Cell::List(a.iter().map(Cell::from_json).collect()),
            serde_json::Value::Object(o) => Cell::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Cell::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// One chat message of a `messages_column` row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Message {
    pub role: String,
    pub content: String,
}

/// An image of a dataset row, turned into a data URI when a request is built.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ImageRef {
    /// Encoded image bytes (PNG, JPEG, ...).
    Bytes(Bytes),
    /// Already a `data:` URI.
    DataUri(String),
    /// A file to read.
    Path(PathBuf),
}

/// One usable dataset row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Row {
    /// The prompt text (for message rows: the first user message).
    pub text: String,
    /// The chat messages, when the dataset has a `messages_column`.
    pub messages: Option<Vec<Message>>,
    pub images: Vec<ImageRef>,
}

/// A row as read, before the column rules.
#[derive(Debug)]
pub(crate) enum RawRow {
    /// A bare string (txt line, JSON string item): the text itself.
    Bare(String),
    /// The requested columns, in request order (None: the row lacks it).
    Fields(Vec<Option<Cell>>),
}

/// What a reader produced.
#[derive(Debug, Default)]
pub(crate) struct RawTable {
    /// Every column name seen (for "columns present" in errors).
    pub available: Vec<String>,
    /// Per requested column: did any row (or the schema) have it.
    pub present: Vec<bool>,
    pub rows: Vec<RawRow>,
    /// Rows skipped while reading for being over a size limit.
    pub oversize: usize,
}

/// Which columns to read and how to use them.
#[derive(Clone, Debug)]
pub(crate) struct Columns {
    /// The text column (`prompt_column`), or the messages column when set.
    pub text: String,
    /// True when `text` is a messages column.
    pub messages: bool,
    pub image: Option<String>,
}

impl Columns {
    fn requested(&self) -> Vec<&str> {
        let mut v = vec![self.text.as_str()];
        if let Some(i) = &self.image {
            v.push(i.as_str());
        }
        v
    }
}

fn read_err(path: &Path, message: impl Into<String>) -> DatasetError {
    DatasetError::Read {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a local file of the given format (`delimiter`: CSV only; None = by extension).
pub(crate) fn read_file(
    path: &Path,
    format: crate::vocab::FileFormat,
    delimiter: Option<char>,
    cols: &Columns,
    max_rows: Option<usize>,
) -> Result<RawTable, DatasetError> {
    use crate::vocab::FileFormat;
    if !path.exists() {
        return Err(DatasetError::Read {
            path: path.to_path_buf(),
            message: "file not found (paths in dataset configs are relative to the config file's directory)".into(),
        });
    }
    match format {
        FileFormat::Txt => read_txt(path, max_rows),
        FileFormat::Csv => read_csv(
            path,
            csv_delimiter(path, delimiter)?,
            cols,
            max_rows,
            MAX_STREAM_BYTES,
        ),
        FileFormat::Json => read_json(path, cols, max_rows),
        FileFormat::Jsonl => read_jsonl(path, cols, max_rows),
        FileFormat::Parquet => read_parquet(&[path.to_path_buf()], cols, max_rows),
    }
}

#[cfg(test)]
mod tests;
