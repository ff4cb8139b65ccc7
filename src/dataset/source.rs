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

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use base64::Engine;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::DatasetError;

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

/// Reads a file parsed whole (`.json`), at most [`MAX_WHOLE_FILE_BYTES`] read.
fn read_to_string(path: &Path) -> Result<String, DatasetError> {
    use std::io::Read;
    let too_big = || {
        read_err(
            path,
            format!(
                "the file is over the {} MiB limit for .json datasets (they are parsed whole); \
                 convert it to .jsonl or .parquet, which are read row by row",
                MAX_WHOLE_FILE_BYTES >> 20
            ),
        )
    };
    if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_WHOLE_FILE_BYTES) {
        return Err(too_big());
    }
    let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
    let mut bytes = Vec::new();
    Bounded::new(file, MAX_WHOLE_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::Other {
                too_big()
            } else {
                read_err(path, format!("cannot read: {e}"))
            }
        })?;
    String::from_utf8(bytes).map_err(|e| {
        read_err(
            path,
            format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// One line from [`read_line_limited`].
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The line's bytes, without the line end (`\n` or `\r\n`).
    Text(Vec<u8>),
    /// The line was longer than the limit; it was read past and dropped.
    TooLong,
    /// End of input.
    Eof,
}

/// Reads the next line of at most `max` bytes; a longer line is consumed in
/// pieces and dropped, so memory stays bounded by `max` whatever the input.
fn read_line_limited<R: BufRead>(r: &mut R, max: usize) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = r.fill_buf()?;
        if available.is_empty() {
            break;
        }
        any = true;
        let (piece, used, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + piece.len() > max {
                too_long = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(piece);
            }
        }
        r.consume(used);
        if done {
            break;
        }
    }
    Ok(if !any {
        Line::Eof
    } else if too_long {
        Line::TooLong
    } else {
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Line::Text(buf)
    })
}

fn open_lines(path: &Path, limit: u64) -> Result<BufReader<Bounded<File>>, DatasetError> {
    let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
    Ok(BufReader::new(Bounded::new(file, limit)))
}

/// A read error, telling the stream limit apart from other I/O errors.
fn stream_err(path: &Path, what: &str, e: &std::io::Error) -> DatasetError {
    if e.kind() == std::io::ErrorKind::Other && e.to_string().starts_with("more than") {
        read_err(
            path,
            format!(
                "read {e} without reaching the end of the file; set the dataset's max_rows, or convert it to .parquet"
            ),
        )
    } else {
        read_err(path, format!("cannot read {what}: {e}"))
    }
}

fn line_text(path: &Path, n: usize, bytes: Vec<u8>) -> Result<String, DatasetError> {
    String::from_utf8(bytes).map_err(|e| {
        read_err(
            path,
            format!(
                "line {}: not valid UTF-8 (byte {})",
                n + 1,
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Reads a text file, one prompt per non-empty line (trimmed). Lines over
/// [`MAX_TEXT_BYTES`] are skipped while reading, and count toward `max_rows`.
fn read_txt(path: &Path, max_rows: Option<usize>) -> Result<RawTable, DatasetError> {
    read_txt_limited(path, max_rows, MAX_STREAM_BYTES)
}

/// [`read_txt`] reading at most `limit` bytes.
fn read_txt_limited(
    path: &Path,
    max_rows: Option<usize>,
    limit: u64,
) -> Result<RawTable, DatasetError> {
    let mut reader = open_lines(path, limit)?;
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut table = RawTable::default();
    let mut n = 0;
    while table.rows.len() + table.oversize < limit {
        let line = read_line_limited(&mut reader, MAX_TEXT_BYTES)
            .map_err(|e| stream_err(path, &format!("line {}", n + 1), &e))?;
        match line {
            Line::Eof => break,
            Line::TooLong => table.oversize += 1,
            Line::Text(bytes) => {
                let text = line_text(path, n, bytes)?;
                let text = text.trim();
                if !text.is_empty() {
                    table.rows.push(RawRow::Bare(text.to_string()));
                }
            }
        }
        n += 1;
    }
    Ok(table)
}

/// Objects and strings of a JSON list → a table.
struct ItemCollector<'a> {
    cols: &'a Columns,
    table: RawTable,
}

impl<'a> ItemCollector<'a> {
    fn new(cols: &'a Columns) -> Self {
        let n = cols.requested().len();
        ItemCollector {
            cols,
            table: RawTable {
                present: vec![false; n],
                ..RawTable::default()
            },
        }
    }

    fn push(&mut self, item: &serde_json::Value) {
        match item {
            serde_json::Value::String(s) => self.table.rows.push(RawRow::Bare(s.clone())),
            serde_json::Value::Object(obj) => {
                for k in obj.keys() {
                    if !self.table.available.contains(k) {
                        self.table.available.push(k.clone());
                    }
                }
                let fields = self
                    .cols
                    .requested()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        obj.get(*c).map(|v| {
                            self.table.present[i] = true;
                            Cell::from_json(v)
                        })
                    })
                    .collect();
                self.table.rows.push(RawRow::Fields(fields));
            }
            // Numbers, lists and nulls at the top level are not rows.
            _ => {}
        }
    }
}

fn read_json(
    path: &Path,
    cols: &Columns,
    max_rows: Option<usize>,
) -> Result<RawTable, DatasetError> {
    let text = read_to_string(path)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        read_err(
            path,
            format!(
                "invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let serde_json::Value::Array(items) = value else {
        return Err(read_err(
            path,
            "the top level of a .json dataset must be a list of objects or strings (use .jsonl for one object per line)",
        ));
    };
    let mut c = ItemCollector::new(cols);
    for item in items.iter().take(max_rows.unwrap_or(usize::MAX)) {
        c.push(item);
    }
    Ok(c.table)
}

fn read_jsonl(
    path: &Path,
    cols: &Columns,
    max_rows: Option<usize>,
) -> Result<RawTable, DatasetError> {
    read_jsonl_limited(path, cols, max_rows, MAX_LINE_BYTES, MAX_STREAM_BYTES)
}

/// [`read_jsonl`] with lines of at most `max_line` bytes, reading at most `limit` bytes.
fn read_jsonl_limited(
    path: &Path,
    cols: &Columns,
    max_rows: Option<usize>,
    max_line: usize,
    limit: u64,
) -> Result<RawTable, DatasetError> {
    let mut reader = open_lines(path, limit)?;
    let mut c = ItemCollector::new(cols);
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut n = 0;
    while c.table.rows.len() < limit {
        let line = read_line_limited(&mut reader, max_line)
            .map_err(|e| stream_err(path, &format!("line {}", n + 1), &e))?;
        match line {
            Line::Eof => break,
            Line::TooLong => c.table.oversize += 1,
            Line::Text(bytes) => {
                let line = line_text(path, n, bytes)?;
                if !line.trim().is_empty() {
                    let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
                        read_err(path, format!("line {}: invalid JSON: {e}", n + 1))
                    })?;
                    c.push(&v);
                }
            }
        }
        n += 1;
    }
    Ok(c.table)
}

/// The CSV delimiter: the dataset's `delimiter`, else tab for `.tsv` files and
/// `,` otherwise. It must be one ASCII character other than `"`, CR and LF.
fn csv_delimiter(path: &Path, delimiter: Option<char>) -> Result<u8, DatasetError> {
    let c = delimiter.unwrap_or_else(|| {
        let tsv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
        if tsv {
            '\t'
        } else {
            ','
        }
    });
    match u8::try_from(c) {
        Ok(b) if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => Ok(b),
        _ => Err(read_err(
            path,
            format!("delimiter {c:?} is not one ASCII character other than a quote or a line end"),
        )),
    }
}

/// Reads a CSV file (module docs), at most `limit` bytes.
fn read_csv(
    path: &Path,
    delimiter: u8,
    cols: &Columns,
    max_rows: Option<usize>,
    limit: u64,
) -> Result<RawTable, DatasetError> {
    let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(BufReader::new(Bounded::new(file, limit)));
    let csv_err = |e: csv::Error| {
        let line = e.position().map(csv::Position::line);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => stream_err(path, "the file", &io),
            csv::ErrorKind::Utf8 { err, .. } => read_err(
                path,
                format!(
                    "line {}: field {} is not valid UTF-8",
                    line.unwrap_or(0),
                    err.field() + 1
                ),
            ),
            other => read_err(path, format!("line {}: {other:?}", line.unwrap_or(0))),
        }
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_owned)
        .collect();
    let requested = cols.requested();
    let idx: Vec<Option<usize>> = requested
        .iter()
        .map(|c| header.iter().position(|h| h == c))
        .collect();
    let mut rows = Vec::new();
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut record = csv::StringRecord::new();
    while rows.len() < limit && reader.read_record(&mut record).map_err(csv_err)? {
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue;
        }
        rows.push(RawRow::Fields(
            idx.iter()
                .map(|i| {
                    i.and_then(|i| record.get(i))
                        .map(|s| Cell::Str(s.to_owned()))
                })
                .collect(),
        ));
    }
    Ok(RawTable {
        present: idx.iter().map(Option::is_some).collect(),
        available: header,
        rows,
        oversize: 0,
    })
}

/// Reads the requested columns of Parquet files (in order) into one table.
pub(crate) fn read_parquet(
    paths: &[PathBuf],
    cols: &Columns,
    max_rows: Option<usize>,
) -> Result<RawTable, DatasetError> {
    let requested = cols.requested();
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut table = RawTable {
        present: vec![false; requested.len()],
        ..RawTable::default()
    };
    for path in paths {
        if table.rows.len() >= limit {
            break;
        }
        let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| read_err(path, format!("not a readable Parquet file: {e}")))?;
        let schema = builder.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        for n in &names {
            if !table.available.contains(n) {
                table.available.push(n.clone());
            }
        }
        let roots: Vec<Option<usize>> = requested
            .iter()
            .map(|c| names.iter().position(|n| n == c))
            .collect();
        for (i, r) in roots.iter().enumerate() {
            table.present[i] |= r.is_some();
        }
        let wanted: Vec<usize> = roots.iter().flatten().copied().collect();
        if wanted.is_empty() {
            continue;
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(1024)
            .build()
            .map_err(|e| read_err(path, format!("cannot read Parquet: {e}")))?;
        for batch in reader {
            let batch = batch.map_err(|e| read_err(path, format!("cannot read Parquet: {e}")))?;
            let bschema = batch.schema();
            let arrays: Vec<Option<ArrayRef>> = requested
                .iter()
                .map(|c| {
                    bschema
                        .index_of(c)
                        .ok()
                        .map(|i| Arc::clone(batch.column(i)))
                })
                .collect();
            for row in 0..batch.num_rows() {
                if table.rows.len() >= limit {
                    break;
                }
                let mut fields = Vec::with_capacity(arrays.len());
                for (a, name) in arrays.iter().zip(&requested) {
                    fields.push(match a {
                        Some(a) => Some(
                            cell_at(a.as_ref(), row)
                                .map_err(|e| read_err(path, format!("column `{name}`: {e}")))?,
                        ),
                        None => None,
                    });
                }
                table.rows.push(RawRow::Fields(fields));
            }
        }
    }
    Ok(table)
}

macro_rules! prim {
    ($array:expr, $i:expr, $t:ty, $variant:ident, $conv:expr) => {
        $array
            .as_primitive_opt::<$t>()
            .map(|a| Cell::$variant($conv(a.value($i))))
            .ok_or_else(|| "unexpected array layout".to_string())
    };
}

/// One Arrow value as a [`Cell`].
fn cell_at(array: &dyn Array, i: usize) -> Result<Cell, String> {
    if array.is_null(i) {
        return Ok(Cell::Null);
    }
    let layout = || "unexpected array layout".to_string();
    match array.data_type() {
        DataType::Null => Ok(Cell::Null),
        DataType::Boolean => array
            .as_boolean_opt()
            .map(|a| Cell::Bool(a.value(i)))
            .ok_or_else(layout),
        DataType::Int8 => prim!(array, i, Int8Type, Int, i64::from),
        DataType::Int16 => prim!(array, i, Int16Type, Int, i64::from),
        DataType::Int32 => prim!(array, i, Int32Type, Int, i64::from),
        DataType::Int64 => prim!(array, i, Int64Type, Int, |v| v),
        DataType::UInt8 => prim!(array, i, UInt8Type, Int, i64::from),
        DataType::UInt16 => prim!(array, i, UInt16Type, Int, i64::from),
        DataType::UInt32 => prim!(array, i, UInt32Type, Int, i64::from),
        DataType::UInt64 => prim!(array, i, UInt64Type, Float, |v: u64| v as f64),
        DataType::Float32 => prim!(array, i, Float32Type, Float, f64::from),
        DataType::Float64 => prim!(array, i, Float64Type, Float, |v| v),
        DataType::Utf8 => array
            .as_string_opt::<i32>()
            .map(|a| Cell::Str(a.value(i).to_string()))
            .ok_or_else(layout),
        DataType::LargeUtf8 => array
            .as_string_opt::<i64>()
            .map(|a| Cell::Str(a.value(i).to_string()))
            .ok_or_else(layout),
        DataType::Utf8View => array
            .as_string_view_opt()
            .map(|a| Cell::Str(a.value(i).to_string()))
            .ok_or_else(layout),
        DataType::Binary => array
            .as_binary_opt::<i32>()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::LargeBinary => array
            .as_binary_opt::<i64>()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::BinaryView => array
            .as_binary_view_opt()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::FixedSizeBinary(_) => array
            .as_fixed_size_binary_opt()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::Struct(_) => {
            let s = array.as_struct_opt().ok_or_else(layout)?;
            let mut fields = Vec::with_capacity(s.num_columns());
            for (name, col) in s.column_names().iter().zip(s.columns()) {
                fields.push(((*name).to_string(), cell_at(col.as_ref(), i)?));
            }
            Ok(Cell::Map(fields))
        }
        DataType::List(_) => {
            let l = array.as_list_opt::<i32>().ok_or_else(layout)?;
            list_cells(l.value(i).as_ref())
        }
        DataType::LargeList(_) => {
            let l = array.as_list_opt::<i64>().ok_or_else(layout)?;
            list_cells(l.value(i).as_ref())
        }
        DataType::FixedSizeList(_, _) => {
            let l = array.as_fixed_size_list_opt().ok_or_else(layout)?;
            list_cells(l.value(i).as_ref())
        }
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary_opt().ok_or_else(layout)?;
            let key = d.normalized_keys().get(i).copied().ok_or_else(layout)?;
            cell_at(d.values().as_ref(), key)
        }
        other => Err(format!("values of type {other} are not supported")),
    }
}

fn list_cells(values: &dyn Array) -> Result<Cell, String> {
    (0..values.len())
        .map(|j| cell_at(values, j))
        .collect::<Result<Vec<_>, _>>()
        .map(Cell::List)
}

/// Decodes the images of one cell (see the module docs).
fn image_refs(cell: &Cell, base_dir: Option<&Path>, out: &mut Vec<ImageRef>) -> Result<(), String> {
    match cell {
        Cell::Null => Ok(()),
        Cell::Bytes(b) => {
            out.push(ImageRef::Bytes(b.clone()));
            Ok(())
        }
        Cell::Str(s) => {
            if s.starts_with("data:") {
                out.push(ImageRef::DataUri(s.clone()));
                return Ok(());
            }
            if s.len() > 64 {
                if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                    out.push(ImageRef::Bytes(Bytes::from(bytes)));
                    return Ok(());
                }
            }
            let p = PathBuf::from(s);
            let p = match base_dir {
                Some(d) if p.is_relative() => d.join(p),
                _ => p,
            };
            out.push(ImageRef::Path(p));
            Ok(())
        }
        Cell::Map(_) => {
            match cell.get("bytes") {
                Some(Cell::Bytes(b)) => {
                    out.push(ImageRef::Bytes(b.clone()));
                    return Ok(());
                }
                Some(Cell::Str(s)) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(s.trim())
                        .map_err(|e| format!("`bytes` is text but not base64: {e}"))?;
                    out.push(ImageRef::Bytes(Bytes::from(bytes)));
                    return Ok(());
                }
                _ => {}
            }
            match cell.get("path") {
                Some(c @ Cell::Str(_)) => image_refs(c, base_dir, out),
                _ => Err("an image map needs `bytes` or `path`".to_string()),
            }
        }
        Cell::List(items) => {
            for it in items {
                image_refs(it, base_dir, out)?;
            }
            Ok(())
        }
        Cell::Bool(_) | Cell::Int(_) | Cell::Float(_) => {
            Err("a number is not an image (expected bytes, base64, a data URI or a path)".into())
        }
    }
}

fn messages_of(cell: &Cell) -> Option<Vec<Message>> {
    let Cell::List(items) = cell else {
        return None;
    };
    let mut out = Vec::new();
    for it in items {
        let role = it
            .get("role")
            .or_else(|| it.get("from"))
            .and_then(Cell::text)?;
        let role = match role.as_str() {
            "human" => "user".to_string(),
            "gpt" | "bot" | "model" => "assistant".to_string(),
            _ => role,
        };
        let content = ["content", "value", "text"]
            .iter()
            .find_map(|k| it.get(k))
            .and_then(Cell::text)
            .unwrap_or_default();
        out.push(Message { role, content });
    }
    Some(out)
}

/// Result of applying the column rules.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub rows: Vec<Row>,
    /// Rows skipped for exceeding [`MAX_TEXT_BYTES`] (or, while reading, [`MAX_LINE_BYTES`]).
    pub oversize: usize,
}

/// Applies the column rules to a table read from `origin`.
pub(crate) fn rows_from_table(
    table: RawTable,
    cols: &Columns,
    origin: &str,
    base_dir: Option<&Path>,
) -> Result<Rows, DatasetError> {
    let has_fields = table.rows.iter().any(|r| matches!(r, RawRow::Fields(_)))
        || (table.rows.is_empty() && !table.available.is_empty());
    if has_fields {
        for (i, name) in cols.requested().iter().enumerate() {
            if !table.present.get(i).copied().unwrap_or(false) {
                let role = if i == 0 {
                    if cols.messages {
                        "messages_column"
                    } else {
                        "prompt_column"
                    }
                } else {
                    "image_column"
                };
                return Err(DatasetError::MissingColumn {
                    origin: origin.to_string(),
                    field: role.to_string(),
                    column: (*name).to_string(),
                    available: table.available.clone(),
                });
            }
        }
    }
    let mut out = Rows {
        rows: Vec::new(),
        oversize: table.oversize,
    };
    for (n, raw) in table.rows.into_iter().enumerate() {
        let row = match raw {
            RawRow::Bare(text) => Row {
                text,
                messages: None,
                images: Vec::new(),
            },
            RawRow::Fields(mut fields) => {
                let first = fields.first_mut().and_then(Option::take);
                let (text, messages) = if cols.messages {
                    let msgs = first.as_ref().and_then(messages_of);
                    let text = msgs
                        .as_ref()
                        .and_then(|m| m.iter().find(|m| m.role == "user"))
                        .map(|m| m.content.clone())
                        .unwrap_or_default();
                    (text, msgs)
                } else {
                    (
                        first.as_ref().and_then(Cell::text).unwrap_or_default(),
                        None,
                    )
                };
                let mut images = Vec::new();
                if let Some(Some(cell)) = fields.get(1) {
                    image_refs(cell, base_dir, &mut images).map_err(|e| DatasetError::Image {
                        origin: origin.to_string(),
                        message: format!(
                            "row {n}, column `{}`: {e}",
                            cols.image.as_deref().unwrap_or("")
                        ),
                    })?;
                }
                if cols.messages && messages.is_none() {
                    continue;
                }
                Row {
                    text,
                    messages,
                    images,
                }
            }
        };
        let size = row.messages.as_ref().map_or(row.text.len(), |m| {
            m.iter()
                .map(|m| m.content.len())
                .sum::<usize>()
                .max(row.text.len())
        });
        if size > MAX_TEXT_BYTES {
            out.oversize += 1;
            continue;
        }
        if row.text.trim().is_empty() && row.images.is_empty() && cols.image.is_none() {
            continue;
        }
        out.rows.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(text: &str) -> Columns {
        Columns {
            text: text.to_string(),
            messages: false,
            image: None,
        }
    }

    /// The texts of column `text` read from CSV `content` (written to a file).
    fn csv_texts(
        content: &[u8],
        name: &str,
        delimiter: Option<char>,
    ) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let table = read_file(
            &path,
            crate::vocab::FileFormat::Csv,
            delimiter,
            &cols("text"),
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok(table
            .rows
            .into_iter()
            .map(|r| match r {
                RawRow::Fields(f) => match f.into_iter().next().flatten() {
                    Some(Cell::Str(s)) => s,
                    other => format!("{other:?}"),
                },
                RawRow::Bare(s) => s,
            })
            .collect())
    }

    #[test]
    fn csv_handles_quotes_newlines_bom_and_delimiters() {
        let texts = csv_texts(
            b"text,b\r\n\"x, \"\"y\"\"\",2\n\"multi\nline\",3\n",
            "a.csv",
            None,
        )
        .unwrap();
        assert_eq!(texts, ["x, \"y\"", "multi\nline"]);
        // A UTF-8 byte-order mark before the header is not part of the first column's name.
        let texts = csv_texts(b"\xef\xbb\xbftext,n\nhello,1\n", "bom.csv", None).unwrap();
        assert_eq!(texts, ["hello"]);
        // Other delimiters: from the dataset, or tab for .tsv.
        assert_eq!(
            csv_texts(b"n;text\n1;a,b\n", "semi.csv", Some(';')).unwrap(),
            ["a,b"]
        );
        assert_eq!(
            csv_texts(b"n\ttext\n1\ta,b\n", "t.tsv", None).unwrap(),
            ["a,b"]
        );
        // Short rows are allowed (missing fields read as absent).
        assert_eq!(
            csv_texts(b"n,text\n1\n2,b\n", "short.csv", None).unwrap(),
            ["None", "b"]
        );
        // An unclosed quote runs to the end of the file, as in RFC 4180 readers.
        assert_eq!(
            csv_texts(b"text\n\"open\nmore", "open.csv", None).unwrap(),
            ["open\nmore"]
        );
        let err = csv_texts(b"text\n\xff\xfe\n", "latin.csv", None).unwrap_err();
        assert!(
            err.contains("latin.csv") && err.contains("not valid UTF-8"),
            "{err}"
        );
        let err = csv_texts(b"text\na\n", "bad.csv", Some('"')).unwrap_err();
        assert!(err.contains("delimiter"), "{err}");
    }

    #[test]
    fn coercion_follows_the_rules() {
        let map = Cell::Map(vec![
            ("value".into(), Cell::Str("v".into())),
            ("text".into(), Cell::Str("t".into())),
        ]);
        assert_eq!(map.text().as_deref(), Some("v"));
        let content = Cell::Map(vec![
            ("text".into(), Cell::Str("t".into())),
            ("content".into(), Cell::Str("c".into())),
        ]);
        assert_eq!(content.text().as_deref(), Some("c"));
        let list = Cell::List(vec![content.clone(), Cell::Str("second".into())]);
        assert_eq!(list.text().as_deref(), Some("c"));
        assert_eq!(Cell::Int(4).text().as_deref(), Some("4"));
        assert_eq!(Cell::Null.text(), None);
        assert_eq!(Cell::List(vec![]).text(), None);
    }

    #[test]
    fn missing_column_lists_the_columns() {
        let table = RawTable {
            available: vec!["question".into(), "answer".into()],
            present: vec![false],
            rows: vec![RawRow::Fields(vec![None])],
            oversize: 0,
        };
        let err = rows_from_table(table, &cols("prompt"), "data/x.csv", None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("data/x.csv"), "{msg}");
        assert!(msg.contains("`prompt`"), "{msg}");
        assert!(msg.contains("question, answer"), "{msg}");
        assert!(msg.contains("prompt_column"), "{msg}");
    }

    #[test]
    fn oversize_and_empty_rows_are_skipped() {
        let table = RawTable {
            available: vec![],
            present: vec![],
            rows: vec![
                RawRow::Bare("x".repeat(MAX_TEXT_BYTES + 1)),
                RawRow::Bare("  ".into()),
                RawRow::Bare("ok".into()),
            ],
            oversize: 0,
        };
        let rows = rows_from_table(table, &cols("text"), "t", None).unwrap();
        assert_eq!(rows.oversize, 1);
        assert_eq!(rows.rows.len(), 1);
        assert_eq!(rows.rows[0].text, "ok");
    }

    #[test]
    fn messages_and_images_are_read() {
        let c = Columns {
            text: "conv".into(),
            messages: true,
            image: Some("img".into()),
        };
        let conv = Cell::List(vec![
            Cell::Map(vec![
                ("from".into(), Cell::Str("human".into())),
                ("value".into(), Cell::Str("hi".into())),
            ]),
            Cell::Map(vec![
                ("role".into(), Cell::Str("assistant".into())),
                ("content".into(), Cell::Str("hello".into())),
            ]),
        ]);
        let img = Cell::Map(vec![
            ("bytes".into(), Cell::Bytes(Bytes::from_static(b"\x89PNG"))),
            ("path".into(), Cell::Null),
        ]);
        let table = RawTable {
            available: vec!["conv".into(), "img".into()],
            present: vec![true, true],
            rows: vec![RawRow::Fields(vec![Some(conv), Some(img)])],
            oversize: 0,
        };
        let rows = rows_from_table(table, &c, "t", None).unwrap();
        let row = &rows.rows[0];
        assert_eq!(row.text, "hi");
        let msgs = row.messages.as_ref().unwrap();
        assert_eq!(msgs[0].role, "user");
        assert_eq!(msgs[1].content, "hello");
        assert_eq!(
            row.images,
            vec![ImageRef::Bytes(Bytes::from_static(b"\x89PNG"))]
        );
    }

    #[test]
    fn lines_are_read_with_a_bound() {
        // A tiny buffer makes every line arrive in several pieces.
        let input: &[u8] = b"one\r\ntoolong-line\n\nlast";
        let mut r = std::io::BufReader::with_capacity(3, input);
        let mut got = Vec::new();
        loop {
            match read_line_limited(&mut r, 8).unwrap() {
                Line::Eof => break,
                line => got.push(line),
            }
        }
        assert_eq!(
            got,
            vec![
                Line::Text(b"one".to_vec()),
                Line::TooLong,
                Line::Text(Vec::new()),
                Line::Text(b"last".to_vec()),
            ]
        );
        // Exactly at the limit is fine.
        let mut r = std::io::BufReader::with_capacity(2, &b"12345678\n"[..]);
        assert_eq!(
            read_line_limited(&mut r, 8).unwrap(),
            Line::Text(b"12345678".to_vec())
        );
    }

    #[test]
    fn txt_lines_over_the_text_limit_are_skipped_while_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.txt");
        let mut text = String::from("first\n");
        text.push_str(&"x".repeat(MAX_TEXT_BYTES + 1));
        text.push_str("\n\n  second  \r\nthird");
        std::fs::write(&path, text).unwrap();
        let table = read_txt(&path, None).unwrap();
        assert_eq!(table.oversize, 1);
        let rows = rows_from_table(table, &cols("text"), "p.txt", None).unwrap();
        assert_eq!(rows.oversize, 1);
        let texts: Vec<&str> = rows.rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, vec!["first", "second", "third"]);
        // The skipped line counts toward max_rows, as a read row.
        let table = read_txt(&path, Some(2)).unwrap();
        assert_eq!((table.rows.len(), table.oversize), (1, 1));
    }

    #[test]
    fn jsonl_lines_over_the_line_limit_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let big = format!("{{\"text\":\"{}\"}}", "y".repeat(500));
        std::fs::write(
            &path,
            format!("{{\"text\":\"a\"}}\n{big}\n{{\"text\":\"b\"}}\n"),
        )
        .unwrap();
        let table = read_jsonl_limited(&path, &cols("text"), None, 100, MAX_STREAM_BYTES).unwrap();
        assert_eq!(table.oversize, 1);
        let rows = rows_from_table(table, &cols("text"), "d.jsonl", None).unwrap();
        let texts: Vec<&str> = rows.rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, vec!["a", "b"]);
        assert_eq!(rows.oversize, 1);
        // With the real limit the same line is an ordinary row.
        let table = read_jsonl(&path, &cols("text"), None).unwrap();
        assert_eq!((table.rows.len(), table.oversize), (3, 0));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.txt");
        std::fs::write(&path, b"ok\nbad \xff\n").unwrap();
        let err = read_txt(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 2: not valid UTF-8"), "{err}");
        assert!(err.contains("p.txt"), "{err}");
    }

    #[test]
    fn conversations_over_the_text_limit_are_skipped() {
        let c = Columns {
            text: "conv".into(),
            messages: true,
            image: None,
        };
        let msg = |role: &str, content: String| {
            Cell::Map(vec![
                ("role".into(), Cell::Str(role.into())),
                ("content".into(), Cell::Str(content)),
            ])
        };
        // The user's text is short; the assistant's reply makes the row too big.
        let big = Cell::List(vec![
            msg("user", "hi".into()),
            msg("assistant", "z".repeat(MAX_TEXT_BYTES)),
        ]);
        let small = Cell::List(vec![msg("user", "hello".into())]);
        let table = RawTable {
            available: vec!["conv".into()],
            present: vec![true],
            rows: vec![
                RawRow::Fields(vec![Some(big)]),
                RawRow::Fields(vec![Some(small)]),
            ],
            oversize: 0,
        };
        let rows = rows_from_table(table, &c, "t", None).unwrap();
        assert_eq!(rows.oversize, 1);
        assert_eq!(rows.rows.len(), 1);
        assert_eq!(rows.rows[0].text, "hello");
    }

    #[test]
    fn a_json_file_over_the_size_limit_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        // A sparse file: the size is checked before anything is read.
        let f = File::create(&path).unwrap();
        f.set_len(MAX_WHOLE_FILE_BYTES + 1).unwrap();
        let err = read_file(
            &path,
            crate::vocab::FileFormat::Json,
            None,
            &cols("text"),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("big.json"), "{err}");
        assert!(err.contains("over the 1024 MiB limit"), "{err}");
        assert!(err.contains(".jsonl or .parquet"), "{err}");
    }

    /// Limits count the bytes read, so a device or a pipe, whose size the file
    /// system does not know, cannot feed more than the limit.
    #[test]
    fn limits_hold_for_files_of_unknown_size() {
        let zero = Path::new("/dev/zero");
        let limit = 1 << 20;
        let err = read_txt_limited(zero, None, limit).unwrap_err().to_string();
        assert!(
            err.contains("/dev/zero") && err.contains("more than 1 MiB"),
            "{err}"
        );
        let err = read_jsonl_limited(zero, &cols("text"), None, 1 << 16, limit)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("more than 1 MiB") && err.contains("max_rows"),
            "{err}"
        );
        let err = read_csv(zero, b',', &cols("text"), None, limit)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 1 MiB"), "{err}");
        // A file of exactly the limit is read whole.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exact.txt");
        std::fs::write(&path, b"a\nb\n").unwrap();
        assert_eq!(read_txt_limited(&path, None, 4).unwrap().rows.len(), 2);
        assert!(read_txt_limited(&path, None, 3).is_err());
    }
}
